import { Config, Duration, Effect, Layer, Schedule } from "effect"
import { WebhookDeliveries } from "../services/WebhookDeliveries.js"
import { WebhookQueue } from "../services/WebhookQueue.js"
import { DeliverOutcome, deliverWebhook } from "../usecases/deliverWebhook.js"

/**
 * The embedded runner's webhook queue: the `webhook_deliveries` table itself. A terminal status
 * change inserts the row (migration 0007's trigger), the runner's poller (`pollWebhooks`, started
 * by packages/local/src/webhooks.ts) finds it due by `next_attempt_at` and runs `deliverWebhook`,
 * which leases it and records the outcome and the next attempt's time. So nothing is sent
 * anywhere: `polled`.
 */
export const PgWebhookQueueLive: Layer.Layer<WebhookQueue> = Layer.succeed(
  WebhookQueue,
  WebhookQueue.of({ polled: true, send: () => Effect.void })
)

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
 * One poll: up to `concurrency` due deliveries, each attempted once, at once. Returns how many were
 * due (the loop polls again at once after a full batch). An attempt whose outcome could not be
 * recorded keeps its lease until it ends, then is due again.
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

/** Polls until interrupted: a full batch polls again at once, a short one waits `idlePollMillis`. */
export const pollWebhooks = (options: WebhookPollerOptions) =>
  pollWebhooksOnce(options).pipe(
    Effect.flatMap((count) =>
      count < options.concurrency ? Effect.sleep(Duration.millis(options.idlePollMillis)) : Effect.void
    ),
    // A database hiccup must not end the poller: log, back off, poll again.
    Effect.catchAllCause((cause) =>
      Effect.logWarning("webhook poll failed", cause).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))))
    ),
    Effect.repeat(Schedule.forever),
    Effect.asVoid
  )
