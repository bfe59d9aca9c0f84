/**
 * The embedded runner's webhook deliverer: the `webhook_deliveries` table is the queue (a terminal
 * status inserts the row in its own transaction, migration 0007), and this poller finds the due
 * rows and runs the same `deliverWebhook` use case the `DeliverWebhook` Lambda runs for each SQS
 * message. The use case leases the row before its request, so a second poller (another process on
 * the same PostgreSQL) never sends the same attempt twice, and records the outcome and the next
 * attempt's time (exponential backoff), which is all the scheduling there is.
 */
import { DeliverOutcome, deliverWebhook, describeWebhooks, WebhookDeliveries, WebhookSettings } from "@imgpipe/core"
import { PgWebhookQueueLive } from "@imgpipe/core/local/PgWebhookQueue"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { WebhookDeliveryLive } from "@imgpipe/core/util/ssrf"
import { Config, Duration, Effect, Layer, Schedule } from "effect"

export interface WebhookPollerOptions {
  /** Deliveries in flight at once (each waits on a receiver, up to the request timeout). */
  readonly concurrency: number
  /** Wait between polls when nothing is due. */
  readonly idlePollMillis: number
}

export const webhookPollerConfig: Config.Config<WebhookPollerOptions> = Config.all({
  concurrency: Config.integer("IMGPIPE_WEBHOOK_CONCURRENCY").pipe(
    Config.withDefault(8),
    Config.validate({ message: "IMGPIPE_WEBHOOK_CONCURRENCY must be a positive integer", validation: (n) => n > 0 })
  ),
  idlePollMillis: Config.integer("IMGPIPE_IDLE_POLL_MS").pipe(Config.withDefault(200))
})

/**
 * One poll: up to `concurrency` due deliveries, each attempted once. Returns how many were due
 * (the loop polls again at once after a full batch). A failed attempt's row keeps its lease until
 * it ends, then is due again.
 */
export const pollWebhooksOnce = (options: WebhookPollerOptions) =>
  Effect.gen(function* () {
    const deliveries = yield* WebhookDeliveries
    const due = yield* deliveries.listDue(options.concurrency)
    yield* Effect.forEach(
      due,
      (eventId) =>
        deliverWebhook(eventId).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("webhook attempt could not be recorded; retried when its lease ends").pipe(
              Effect.annotateLogs({ event_id: eventId, error: error.message }),
              Effect.as(DeliverOutcome.Skipped({ reason: error.message }))
            )
          )
        ),
      { concurrency: "unbounded", discard: true }
    )
    return due.length
  })

/** Polls for ever (until the scope closes): a full batch polls again at once, an empty one waits. */
export const pollWebhooks = (options: WebhookPollerOptions) =>
  pollWebhooksOnce(options).pipe(
    Effect.flatMap((
      count
    ) => (count < options.concurrency ? Effect.sleep(Duration.millis(options.idlePollMillis)) : Effect.void)),
    // A database hiccup must not end the poller: log, back off, poll again.
    Effect.catchAllCause((cause) =>
      Effect.logWarning("webhook poll failed", cause).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))))
    ),
    Effect.repeat(Schedule.forever),
    Effect.asVoid
  )

/** The poller, started with the runner; says at start-up whether webhooks are on and how open. */
export const WebhookPollerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const options = yield* webhookPollerConfig
    const settings = yield* WebhookSettings
    yield* (settings.allowPrivate ? Effect.logWarning : Effect.logInfo)(describeWebhooks(settings))
    yield* Effect.forkScoped(pollWebhooks(options))
  })
)

/**
 * The webhook services of the embedded runner: the delivery rows on its database, the table as
 * the queue, the settings, resolver and HTTP client. Needs a `SqlClient`.
 */
export const EmbeddedWebhooksLive = Layer.mergeAll(WebhookDeliveriesSql, PgWebhookQueueLive, WebhookDeliveryLive)
