/**
 * Webhook delivery against real things: the outbox trigger and the delivery rows on PostgreSQL or
 * PGlite, real node:http receivers, the real HTTP client (node:http, no redirects) and the
 * signature checked by the example printed in docs/webhooks.md. Times are real (no TestClock: `excludeTestServices`): the
 * signature's `t` must be now, and the backoff is the database's clock.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Tracer } from "effect"
import { webhookSettingsForTest, type WebhookSettingsShape } from "../src/config/webhooks.js"
import { newImageId } from "../src/domain/ids.js"
import { IMAGE_SIZES, renditionKey } from "../src/domain/sizes.js"
import { encodeStatusJson, toStatusJson } from "../src/domain/statusJson.js"
import type { WebhookEventId } from "../src/domain/webhook.js"
import { PgWebhookQueueLive } from "../src/local/PgWebhookQueue.js"
import { ImageRepository, ReconcileRepository } from "../src/services/ImageRepository.js"
import { WebhookDeliveries } from "../src/services/WebhookDeliveries.js"
import { type WebhookDispatch, WebhookQueue } from "../src/services/WebhookQueue.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { WebhookDeliveriesSql } from "../src/sql/WebhookDeliveriesSql.js"
import { deliverWebhook, dispatchWebhooks, redispatchWebhooks } from "../src/usecases/deliverWebhook.js"
import { fixedResolver, webhookHttpClientLayer } from "../src/util/ssrf.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"
import { documentedVerifier, startReceiver } from "./support/webhookReceiver.js"

const SECRET = "whsec_test_0123456789"

const TestLayer = Layer.mergeAll(ImageRepositorySql, WebhookDeliveriesSql).pipe(Layer.provideMerge(TestDatabase))

/** Settings, resolver and HTTP client for one test (private destinations allowed unless said). */
const delivery = (
  overrides: Partial<Omit<WebhookSettingsShape, "secret">> = {},
  resolve: Readonly<Record<string, ReadonlyArray<string>>> = {}
) =>
  Layer.mergeAll(
    webhookSettingsForTest({ secret: SECRET, retryBase: Duration.millis(200), ...overrides }),
    fixedResolver(resolve),
    webhookHttpClientLayer({ allowPrivate: overrides.allowPrivate ?? true }),
    PgWebhookQueueLive
  )

/** An image with `callbackUrl` taken to `ready` the way the workers do (all three sizes recorded). */
const readyImage = (callbackUrl: string | null) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const id = yield* newImageId
    yield* repo.create({
      id,
      declaredContentType: "image/jpeg",
      declaredBytes: 1234,
      uploadExpiresAt: new Date(Date.now() + 60_000),
      callbackUrl
    })
    yield* repo.markUploaded([{ id, bytes: 1200 }])
    for (const size of IMAGE_SIZES) {
      yield* repo.recordRendition(
        id,
        size,
        { key: renditionKey(id, size), width: 10, height: 10, bytes: 100, contentType: "image/jpeg" },
        IMAGE_SIZES
      )
    }
    return id
  })

const eventsOf = (imageId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ event_id: WebhookEventId; type: string; url: string }>`
      SELECT event_id, type, url FROM webhook_deliveries WHERE image_id = ${imageId} ORDER BY created_at`).pipe(
      Effect.orDie
    )

const onlyEvent = (imageId: string) =>
  Effect.map(eventsOf(imageId), (rows) => {
    expect(rows).toHaveLength(1)
    return rows[0]!
  })

const webhookState = (imageId: string) =>
  Effect.flatMap(ImageRepository, (repo) => repo.find(imageId as never)).pipe(
    Effect.map((view) => encodeStatusJson(toStatusJson(Option.getOrThrow(view))).webhook)
  )

const sleep = (ms: number) => Effect.promise(() => new Promise((done) => setTimeout(done, ms)))

layer(TestLayer, { timeout: 120_000, excludeTestServices: true })(`webhooks on ${testDatabaseKind}`, (it) => {
  it.effect("a terminal status change writes one delivery row with it (the outbox); no callback_url, no row", () =>
    Effect.gen(function* () {
      const id = yield* readyImage("https://hooks.example.com/a")
      const event = yield* onlyEvent(id)
      expect(event.type).toBe("image.ready")
      expect(event.url).toBe("https://hooks.example.com/a")
      // A repeated rendition changes nothing: still one event.
      const repo = yield* ImageRepository
      yield* repo.recordRendition(
        id as never,
        "small",
        { key: renditionKey(id, "small"), width: 10, height: 10, bytes: 100, contentType: "image/jpeg" },
        IMAGE_SIZES
      )
      expect(yield* eventsOf(id)).toHaveLength(1)

      const silent = yield* readyImage(null)
      expect(yield* eventsOf(silent)).toHaveLength(0)

      // A refusal is image.failed.
      const refusedId = yield* newImageId
      yield* repo.create({
        id: refusedId,
        declaredContentType: "image/jpeg",
        declaredBytes: 10,
        uploadExpiresAt: new Date(Date.now() + 60_000),
        callbackUrl: "https://hooks.example.com/b"
      })
      yield* repo.markUploaded([{ id: refusedId, bytes: 10 }])
      yield* repo.markRejected(refusedId, { code: "not_an_image", message: "no" })
      expect((yield* onlyEvent(refusedId)).type).toBe("image.failed")
      // Before any attempt the status JSON already shows the pending delivery.
      expect(yield* webhookState(refusedId)).toEqual({ attempts: 0, delivered_at: null, last_error: null })

      // The reconciler expiring an upload that never arrived is image.expired.
      const neverId = yield* newImageId
      yield* repo.create({
        id: neverId,
        declaredContentType: "image/jpeg",
        declaredBytes: 10,
        uploadExpiresAt: new Date(Date.now() - 60_000),
        callbackUrl: "https://hooks.example.com/c"
      })
      const reconcileRepo = yield* ReconcileRepository
      expect(yield* reconcileRepo.expireUploads([neverId])).toEqual([neverId])
      expect((yield* onlyEvent(neverId)).type).toBe("image.expired")
    }))

  it.effect("delivers a signed event the documented example verifies; the status JSON shows it delivered", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver()
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)

      const outcome = yield* deliverWebhook(event_id)
      expect(outcome._tag).toBe("Delivered")
      expect(receiver.requests).toHaveLength(1)
      const request = receiver.requests[0]!
      expect(request.method).toBe("POST")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(request.headers["imgpipe-event-id"]).toBe(event_id)
      expect(request.headers["user-agent"]).toMatch(/^imgpipe-webhooks\//)
      const signature = String(request.headers["imgpipe-signature"])
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)

      const verify = documentedVerifier()
      expect(verify(request.body, signature, SECRET)).toBe(true)
      expect(verify(request.body, signature, "another secret")).toBe(false)
      expect(verify(request.body.replace("ready", "failed"), signature, SECRET)).toBe(false)
      // An old signature (a replay) is refused by the 5-minute tolerance.
      const t = Number(/t=(\d+)/.exec(signature)![1])
      expect(verify(request.body, signature.replace(`t=${t}`, `t=${t - 600}`), SECRET)).toBe(false)

      const body = JSON.parse(request.body)
      expect(body).toMatchObject({ id: event_id, type: "image.ready", data: { image_id: id, status: "ready" } })
      expect(typeof body.created_at).toBe("string")

      const state = yield* webhookState(id)
      expect(state?.attempts).toBe(1)
      expect(state?.delivered_at).not.toBeNull()
      expect(state?.last_error).toBeNull()

      // Delivered is final: a duplicate message finds nothing to do, and nothing is sent again.
      expect((yield* deliverWebhook(event_id))._tag).toBe("Skipped")
      expect(receiver.requests).toHaveLength(1)
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("retries after a 500 with backoff: delivered on the 2nd attempt, attempts = 2", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver({ script: [500] })
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)

      const first = yield* deliverWebhook(event_id)
      expect(first).toMatchObject({ _tag: "Retrying", attempts: 1, error: "HTTP 500" })
      expect(yield* webhookState(id)).toMatchObject({ attempts: 1, delivered_at: null, last_error: "HTTP 500" })

      // Not due yet (the backoff, 200 ms here): nothing is sent.
      expect((yield* deliverWebhook(event_id))._tag).toBe("Deferred")
      expect(receiver.requests).toHaveLength(1)

      yield* sleep(400)
      const second = yield* deliverWebhook(event_id)
      expect(second).toMatchObject({ _tag: "Delivered", attempts: 2 })
      expect(receiver.requests).toHaveLength(2)
      // The same event both times.
      expect(receiver.requests.map((r) => r.headers["imgpipe-event-id"])).toEqual([event_id, event_id])
      const state = yield* webhookState(id)
      expect(state).toMatchObject({ attempts: 2, last_error: null })
      expect(state?.delivered_at).not.toBeNull()
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("a redirect is a failed attempt and is not followed", () =>
    Effect.gen(function* () {
      const target = yield* startReceiver()
      const receiver = yield* startReceiver({ fallback: 302, headers: { location: target.url } })
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)
      const outcome = yield* deliverWebhook(event_id)
      expect(outcome).toMatchObject({ _tag: "Retrying", error: "HTTP 302 (redirects are not followed)" })
      expect(receiver.requests).toHaveLength(1)
      expect(target.requests).toHaveLength(0)
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("SSRF at delivery: a host resolving to 10.x is refused, no request made, recorded as last_error", () =>
    Effect.gen(function* () {
      const id = yield* readyImage("https://hooks.internal.example/hook")
      const { event_id } = yield* onlyEvent(id)
      const outcome = yield* deliverWebhook(event_id)
      expect(outcome._tag).toBe("Retrying")
      const state = yield* webhookState(id)
      expect(state?.last_error).toMatch(/^refused destination: .*10\.0\.0\.7 is a private address/)
      expect(state?.delivered_at).toBeNull()
    }).pipe(
      Effect.provide(delivery({ allowPrivate: false }, { "hooks.internal.example": ["10.0.0.7"] }))
    ))

  it.effect("SSRF at connection: a name checked as public but resolving to loopback when connecting is refused", () =>
    Effect.gen(function* () {
      // The guard's resolver said public (as a rebinding DNS would, once); the connection's own
      // lookup gets 127.0.0.1 and refuses it before connecting.
      const receiver = yield* startReceiver()
      const id = yield* readyImage(`https://localhost:${receiver.port}/hook`)
      const { event_id } = yield* onlyEvent(id)
      const outcome = yield* deliverWebhook(event_id)
      expect(outcome._tag).toBe("Retrying")
      expect((yield* webhookState(id))?.last_error).toMatch(/refused destination/)
      expect(receiver.requests).toHaveLength(0)
    }).pipe(
      Effect.scoped,
      Effect.provide(delivery({ allowPrivate: false }, { localhost: ["93.184.216.34"] }))
    ))

  it.effect("given up when the retry window is over (dead), and a redrive opens a fresh window", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver({ script: [500] })
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)
      const deliveries = yield* WebhookDeliveries

      const outcome = yield* deliverWebhook(event_id).pipe(
        Effect.provide(webhookSettingsForTest({ secret: SECRET, giveUpAfter: Duration.zero }))
      )
      expect(outcome).toMatchObject({ _tag: "GaveUp", attempts: 1, error: "HTTP 500" })
      const dead = Option.getOrThrow(yield* deliveries.find(event_id))
      expect(dead.givenUpAt).not.toBeNull()
      // Dead is final until redriven: no further attempt.
      expect((yield* deliverWebhook(event_id))._tag).toBe("Skipped")
      expect((yield* deliveries.stats).dead).toBeGreaterThanOrEqual(1)

      // Another image's redrive leaves it alone; the redrive of all (the admin API's) takes it.
      expect(yield* deliveries.redrive({ imageIds: [yield* newImageId], limit: 10 })).toEqual([])
      expect(yield* deliveries.redrive({ limit: 10 })).toContain(event_id)
      expect(Option.getOrThrow(yield* deliveries.find(event_id)).givenUpAt).toBeNull()
      expect((yield* deliverWebhook(event_id))._tag).toBe("Delivered")
      expect(receiver.requests).toHaveLength(2)
      expect(yield* webhookState(id)).toMatchObject({ attempts: 2, last_error: null })
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("two deliverers at once (a duplicate message): the lease lets one send, the other defers", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver({ delayMs: 300 })
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)
      const outcomes = yield* Effect.all([deliverWebhook(event_id), deliverWebhook(event_id)], {
        concurrency: "unbounded"
      })
      expect(outcomes.map((o) => o._tag).sort()).toEqual(["Deferred", "Delivered"])
      expect(receiver.requests).toHaveLength(1)
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("embedded path: dispatch stamps the transition's trace on the rows; the delivery span continues it", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver()
      const id = yield* readyImage(receiver.url)
      const { event_id } = yield* onlyEvent(id)
      // The worker's span around the transition and its dispatch.
      const parent = yield* dispatchWebhooks([id as never]).pipe(
        Effect.zipRight(Effect.currentSpan),
        Effect.withSpan("ProcessImage")
      )
      const stamped = Option.getOrThrow(yield* Effect.flatMap(WebhookDeliveries, (d) => d.find(event_id)))
      // The dispatch's own span, in the worker's trace.
      expect(stamped.traceparent).toMatch(new RegExp(`^00-${parent.traceId}-[0-9a-f]{16}-01$`))
      const stampedSpanId = stamped.traceparent!.split("-")[2]

      // The poller's attempt (no span of its own around it) records a span in that trace.
      const base = yield* Effect.tracer
      const spans: Array<Tracer.Span> = []
      const recording = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          spans.push(span)
          return span
        },
        context: base.context
      })
      expect((yield* deliverWebhook(event_id).pipe(Effect.withTracer(recording)))._tag).toBe("Delivered")
      const span = spans.find((s) => s.name === "deliverWebhook")
      expect(span?.traceId).toBe(parent.traceId)
      expect(Option.map(span!.parent, (p) => p.spanId)).toEqual(Option.some(stampedSpanId))
    }).pipe(Effect.scoped, Effect.provide(delivery())))

  it.effect("AWS path: dispatch hands the new rows to the queue once; the reconciler re-sends rows left undispatched", () =>
    Effect.gen(function* () {
      const sent: Array<WebhookDispatch> = []
      const queue = Layer.succeed(WebhookQueue, {
        polled: false,
        send: (deliveries) => Effect.sync(() => void sent.push(...deliveries))
      })
      const id = yield* readyImage("https://hooks.example.com/aws")
      const { event_id } = yield* onlyEvent(id)
      expect(yield* dispatchWebhooks([id as never]).pipe(Effect.provide(queue))).toBe(1)
      expect(sent).toEqual([{ eventId: event_id, delaySeconds: 0 }])
      // Dispatched: a second dispatch sends nothing.
      expect(yield* dispatchWebhooks([id as never]).pipe(Effect.provide(queue))).toBe(0)

      // A row whose dispatch never happened (a crash after the commit), a minute old.
      const lost = yield* readyImage("https://hooks.example.com/lost")
      const lostEvent = yield* onlyEvent(lost)
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE webhook_deliveries SET created_at = now() - interval '2 minutes' WHERE event_id = ${lostEvent.event_id}`
      const resent = yield* redispatchWebhooks(100).pipe(Effect.provide(queue))
      expect(resent).toBeGreaterThanOrEqual(1)
      expect(sent.map((s) => s.eventId)).toContain(lostEvent.event_id)
      // The embedded queue is polled: dispatch does nothing there.
      expect(yield* dispatchWebhooks([lost as never]).pipe(Effect.provide(PgWebhookQueueLive))).toBe(0)
    }))
})
