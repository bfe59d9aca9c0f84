import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Data, Duration, Effect, Option, Redacted } from "effect"
import { createHmac } from "node:crypto"
import { WebhookSettings } from "../config/webhooks.js"
import type { DatabaseError, QueueError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageView } from "../domain/image.js"
import { encodeStatusJson, toStatusJson } from "../domain/statusJson.js"
import type { WebhookDelivery, WebhookEventId } from "../domain/webhook.js"
import { recordWebhookDelivery } from "../observability/metrics.js"
import { currentTraceparent, withTraceparent } from "../observability/traceContext.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { WebhookDeliveries } from "../services/WebhookDeliveries.js"
import { WebhookQueue } from "../services/WebhookQueue.js"
import { checkDestination, type Resolver } from "../util/ssrf.js"

export type DeliverOutcome = Data.TaggedEnum<{
  /** The receiver answered 2xx: done for good. */
  Delivered: { readonly attempts: number }
  /** The attempt failed; the next one is due in `retryInSeconds`. */
  Retrying: { readonly attempts: number; readonly retryInSeconds: number; readonly error: string }
  /** The attempt failed and the retry window is over: given up (dead-lettered, redrivable). */
  GaveUp: { readonly attempts: number; readonly error: string }
  /** Not due yet (backoff) or another deliverer holds it: handed back to the queue for `seconds` (AWS). */
  Deferred: { readonly seconds: number }
  /** Nothing to do: no such delivery, already delivered or given up (a duplicate message). */
  Skipped: { readonly reason: string }
}>
export const DeliverOutcome = Data.taggedEnum<DeliverOutcome>()

/** SQS's longest `DelaySeconds`: a longer backoff takes several hops (each a `Deferred`). */
export const MAX_QUEUE_DELAY_SECONDS = 900

/** A delivery is leased for its request's timeout and this margin. */
const LEASE_MARGIN_SECONDS = 30

/** `Imgpipe-Signature` of a body at unix time `t`: `t=<t>,v1=<hex HMAC-SHA256("<t>.<body>", secret)>`. */
export const signWebhook = (secret: Redacted.Redacted<string>, t: number, body: string): string =>
  `t=${t},v1=${createHmac("sha256", Redacted.value(secret)).update(`${t}.${body}`).digest("hex")}`

/** The delay before attempt `attempts + 1` after `attempts` failed ones: base · 2^(attempts − 1), capped. */
export const retryDelaySeconds = (
  settings: { readonly retryBase: Duration.Duration; readonly retryCap: Duration.Duration },
  attempts: number
): number =>
  Math.min(
    Duration.toSeconds(settings.retryBase) * 2 ** Math.max(0, attempts - 1),
    Duration.toSeconds(settings.retryCap)
  )

const USER_AGENT = "imgpipe-webhooks/1 (+docs/webhooks.md)"

/**
 * Makes one attempt at one webhook delivery (AWS: per message of `webhooks-<stage>`; embedded:
 * per due row the poller finds). It leases the row (a duplicate message or a second poller finds it
 * leased and defers), checks the destination again (SSRF guard, no request when refused), POSTs
 * `{ id, type, created_at, data: <status JSON now> }` signed with `IMGPIPE_WEBHOOK_SECRET`, and
 * records the outcome: a 2xx ends it; anything else (another status, a redirect, a timeout, a
 * network error) counts an attempt and schedules the next one by exponential backoff, until the
 * retry window (24 h) is over and it is given up. With a queue that is not polled (SQS) the retry
 * is sent back to the queue with its delay. Fails only when the database or the queue does (the
 * message is then retried by the queue).
 */
export const deliverWebhook = (
  eventId: WebhookEventId
): Effect.Effect<
  DeliverOutcome,
  DatabaseError | QueueError,
  WebhookDeliveries | ImageRepository | WebhookQueue | WebhookSettings | Resolver | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const settings = yield* WebhookSettings
    const deliveries = yield* WebhookDeliveries
    const queue = yield* WebhookQueue
    const claim = yield* deliveries.claim(eventId, Duration.toSeconds(settings.timeout) + LEASE_MARGIN_SECONDS)
    switch (claim._tag) {
      case "Done":
        return yield* Effect.succeed(DeliverOutcome.Skipped({ reason: "no open delivery with this id" })).pipe(
          Effect.withSpan("deliverWebhook", { attributes: { event_id: eventId } })
        )
      case "NotYet": {
        if (!queue.polled) {
          yield* queue.send([{ eventId, delaySeconds: Math.ceil(Math.min(claim.seconds, MAX_QUEUE_DELAY_SECONDS)) }])
        }
        return DeliverOutcome.Deferred({ seconds: claim.seconds })
      }
      case "Claimed":
        // The attempt's span continues the trace of the transition that made the event (embedded:
        // the row's traceparent; AWS: the message's, set by the handler, the row's being null).
        return yield* attemptClaimed(claim.delivery).pipe(
          Effect.withSpan("deliverWebhook", { attributes: { event_id: eventId } }),
          withTraceparent(claim.delivery.traceparent)
        )
    }
  }).pipe(Effect.annotateLogs({ event_id: eventId }))

/** The attempt on a leased delivery, and its outcome recorded. */
const attemptClaimed = (delivery: WebhookDelivery) =>
  Effect.gen(function* () {
    const settings = yield* WebhookSettings
    const deliveries = yield* WebhookDeliveries
    const queue = yield* WebhookQueue
    const eventId = delivery.eventId
    // The image as it stands now is the body's `data`. A database failure here is not the
    // receiver's: it fails the call (the lease runs out and the attempt is made again).
    const view = yield* Effect.flatMap(ImageRepository, (images) => images.find(delivery.imageId))
    const result = yield* (Option.isNone(view)
      ? Effect.succeed(failed("the image no longer exists", "retry"))
      : attempt(delivery, view.value)).pipe(
        Effect.catchAllDefect((defect) => Effect.succeed(failed(`unexpected error: ${String(defect)}`, "retry")))
      )
    if (result._tag === "Ok") {
      yield* deliveries.recordDelivered(eventId)
      yield* recordWebhookDelivery("delivered")
      yield* Effect.logInfo("webhook delivered").pipe(Effect.annotateLogs({ attempts: delivery.attempts + 1 }))
      return DeliverOutcome.Delivered({ attempts: delivery.attempts + 1 })
    }
    const retrySeconds = retryDelaySeconds(settings, delivery.attempts + 1)
    const after = yield* deliveries.recordFailure(eventId, {
      error: result.error,
      retrySeconds,
      giveUpAfterSeconds: Duration.toSeconds(settings.giveUpAfter)
    })
    if (after.givenUpAt !== null) {
      yield* recordWebhookDelivery(result.kind === "refused" ? "refused" : "failed")
      yield* Effect.logWarning("webhook given up").pipe(
        Effect.annotateLogs({ attempts: after.attempts, error: result.error })
      )
      return DeliverOutcome.GaveUp({ attempts: after.attempts, error: result.error })
    }
    yield* recordWebhookDelivery(result.kind === "refused" ? "refused" : "retry")
    yield* Effect.logInfo("webhook attempt failed; will retry").pipe(
      Effect.annotateLogs({ attempts: after.attempts, error: result.error, retry_in_seconds: retrySeconds })
    )
    if (!queue.polled) {
      yield* queue.send([{ eventId, delaySeconds: Math.ceil(Math.min(retrySeconds, MAX_QUEUE_DELAY_SECONDS)) }])
      yield* deliveries.markDispatched([eventId])
    }
    return DeliverOutcome.Retrying({ attempts: after.attempts, retryInSeconds: retrySeconds, error: result.error })
  })

type AttemptResult =
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Failed"; readonly error: string; readonly kind: "refused" | "retry" }

const failed = (error: string, kind: "refused" | "retry"): AttemptResult => ({ _tag: "Failed", error, kind })

/** One request (or none, when the destination is refused or the secret is missing). Never fails. */
const attempt = (delivery: WebhookDelivery, view: ImageView) =>
  Effect.gen(function* () {
    const settings = yield* WebhookSettings
    if (Option.isNone(settings.secret)) {
      return failed("IMGPIPE_WEBHOOK_SECRET is not set: webhooks cannot be signed", "retry")
    }
    const refused = yield* checkDestination(delivery.url, { allowPrivate: settings.allowPrivate }).pipe(
      Effect.as(Option.none<string>()),
      Effect.catchTag("DestinationRefused", (e) => Effect.succeed(Option.some(e.message)))
    )
    if (Option.isSome(refused)) return failed(`refused destination: ${refused.value}`, "refused")

    const body = JSON.stringify({
      id: delivery.eventId,
      type: delivery.type,
      created_at: delivery.createdAt.toISOString(),
      data: encodeStatusJson(toStatusJson(view))
    })
    const t = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const request = HttpClientRequest.post(delivery.url).pipe(
      HttpClientRequest.bodyText(body, "application/json"),
      HttpClientRequest.setHeaders({
        "user-agent": USER_AGENT,
        "imgpipe-event-id": delivery.eventId,
        "imgpipe-signature": signWebhook(settings.secret.value, t, body)
      })
    )
    const client = yield* HttpClient.HttpClient
    return yield* client.execute(request).pipe(
      Effect.map((response): AttemptResult =>
        response.status >= 200 && response.status < 300
          ? { _tag: "Ok" }
          : failed(
            response.status >= 300 && response.status < 400
              ? `HTTP ${response.status} (redirects are not followed)`
              : `HTTP ${response.status}`,
            "retry"
          )
      ),
      Effect.scoped,
      Effect.timeoutFail({
        duration: settings.timeout,
        onTimeout: () => `no answer within ${Duration.format(settings.timeout)}`
      }),
      Effect.catchAll((error) =>
        Effect.succeed(
          typeof error === "string"
            ? failed(error, "retry")
            : failed(
              describeRequestError(error),
              /refused destination/.test(describeRequestError(error)) ? "refused" : "retry"
            )
        )
      )
    )
  })

const describeRequestError = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause
  const inner = typeof cause === "object" && cause !== null && "message" in cause ? String(cause.message) : ""
  return inner.length > 0 ? `request failed: ${inner}` : `request failed: ${error.message}`
}

/**
 * The webhook services when the runtime provides them. `dispatchWebhooks` and `redispatchWebhooks`
 * run inside processImage and the reconciler, whose runtimes (and unit tests) need not know about
 * webhooks: without these services there is nothing to dispatch. Every runtime that can make a
 * terminal transition provides them (functions/src/layers.ts, local/src/layers.ts).
 */
const webhookServices = Effect.all([Effect.serviceOption(WebhookQueue), Effect.serviceOption(WebhookDeliveries)]).pipe(
  Effect.map(([queue, deliveries]) =>
    Option.isSome(queue) && Option.isSome(deliveries)
      ? Option.some({ queue: queue.value, deliveries: deliveries.value })
      : Option.none()
  )
)

/**
 * AWS: hands the undispatched open deliveries of `imageIds` to the webhook queue and marks them
 * dispatched. Called right after a terminal transition committed (processImage, reconcile). With
 * the embedded table queue (its poller reads the rows) it only stamps the rows with the current
 * trace context; where the webhook services are not provided it does nothing. Never fails: a delivery left undispatched (a crash or a queue failure between
 * the commit and the send) is sent by the reconciler (`redispatchWebhooks`) a minute later.
 * Returns how many were sent.
 */
export const dispatchWebhooks = (imageIds: ReadonlyArray<ImageId>): Effect.Effect<number> =>
  Effect.gen(function* () {
    const services = yield* webhookServices
    if (Option.isNone(services) || imageIds.length === 0) return 0
    const { deliveries, queue } = services.value
    if (queue.polled) {
      // The poller will find the rows; they only learn the trace they belong to.
      const traceparent = yield* currentTraceparent
      if (Option.isSome(traceparent)) yield* deliveries.recordTraceparent(imageIds, traceparent.value)
      return 0
    }
    const open = yield* deliveries.listUndispatched({ imageIds, limit: 100 })
    return yield* sendAll(services.value, open)
  }).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning("webhooks: dispatch failed; the reconciler sends them later").pipe(
        Effect.annotateLogs({ error: error.message }),
        Effect.as(0)
      )
    ),
    Effect.withSpan("dispatchWebhooks")
  )

/**
 * AWS, from the reconciler: sends the open deliveries left undispatched for over a minute (a
 * crash between a transition's commit and its dispatch, or a failed send). A no-op when polled
 * or when the webhook services are not provided.
 */
export const redispatchWebhooks = (limit: number): Effect.Effect<number, DatabaseError | QueueError> =>
  Effect.gen(function* () {
    const services = yield* webhookServices
    if (Option.isNone(services) || services.value.queue.polled) return 0
    const stale = yield* services.value.deliveries.listUndispatched({ olderThanSeconds: 60, limit })
    const sent = yield* sendAll(services.value, stale)
    if (sent > 0) {
      yield* Effect.logWarning("reconcile: webhooks left undispatched, sent now").pipe(
        Effect.annotateLogs({ count: sent })
      )
    }
    return sent
  }).pipe(Effect.withSpan("redispatchWebhooks"))

const sendAll = (
  services: { readonly queue: WebhookQueue["Type"]; readonly deliveries: WebhookDeliveries["Type"] },
  rows: ReadonlyArray<WebhookDelivery>
) =>
  Effect.gen(function* () {
    if (rows.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    yield* services.queue.send(rows.map((row) => ({
      eventId: row.eventId,
      delaySeconds: Math.min(
        MAX_QUEUE_DELAY_SECONDS,
        Math.max(0, Math.ceil((row.nextAttemptAt.getTime() - now) / 1000))
      )
    })))
    yield* services.deliveries.markDispatched(rows.map((row) => row.eventId))
    return rows.length
  })
