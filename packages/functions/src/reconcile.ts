/**
 * Reconcile: the scheduled function (EventBridge, every 5 minutes) → core `reconcile`: uploads that
 * never arrived become `expired` (one HEAD on the raw bucket first: a stored one whose notification
 * was lost is started instead); images `processing` with no progress for `IMGPIPE_STALL_SECONDS`
 * get their missing sizes sent to the SQS size queues once more, and fail with `processing_failed`
 * if they stall again. Answers the counts.
 *
 * SQS cannot say which images still have queued jobs, so here the time window alone decides: a
 * backlog older than the window gets one duplicate set of jobs (harmless: processing is idempotent),
 * and the queue-age alarm fires long before. Each run is bounded and two overlapping runs never
 * claim the same row; a failed run fails the invocation, and the next schedule tick tries again.
 */
import { type EffectHandler, type EventBridgeEvent, LambdaHandler } from "@effect-aws/lambda"
import { type DatabaseError, type QueueError, reconcile, type ReconcileCounts, type StorageError } from "@imgpipe/core"
import { Effect, Layer } from "effect"
import { ReconcileLive } from "./layers.js"
import { functionObservabilityLayer, observed } from "./observability.js"

/** What EventBridge Scheduler / a `rate(...)` rule sends; only its time is logged. */
export type ScheduledEvent = EventBridgeEvent<"Scheduled Event", unknown>

export const reconcileHandler: EffectHandler<
  ScheduledEvent,
  Effect.Effect.Context<typeof reconcile>,
  DatabaseError | QueueError | StorageError,
  ReconcileCounts
> = (event) =>
  reconcile.pipe(
    Effect.tapError((error) =>
      Effect.logError("reconcile failed; the next scheduled run tries again").pipe(
        Effect.annotateLogs({ error: `${error._tag} in ${error.operation}: ${error.message}` })
      )
    ),
    Effect.annotateLogs({ scheduled_at: typeof event.time === "string" ? event.time : "" }),
    Effect.withSpan("Reconcile")
  )

export const handler = LambdaHandler.make({
  handler: observed("reconcile", reconcileHandler),
  layer: Layer.merge(ReconcileLive, functionObservabilityLayer("reconcile"))
})
