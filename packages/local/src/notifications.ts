/**
 * The embedded stand-in for S3's event notifications. In AWS, S3 answers the PUT as soon as the
 * object is stored and delivers ObjectCreated to StartProcessing afterwards, at least once, often
 * several records per event, and keeps retrying while StartProcessing fails. Here the storage route
 * hands each stored upload to this notifier and answers; one fiber delivers what has arrived, in
 * batches, to the same `startProcessingMany` use case: one statement marks every image of the
 * batch `processing`, one insert carries all their jobs. Under load a batch grows with the load,
 * so the database work per upload shrinks as the upload rate climbs instead of queueing behind the
 * one embedded connection.
 *
 * - The mark and the job insert are ONE transaction (queues and images share the database and the
 *   `SqlClient`): either the image is `processing` with its jobs, or it is still `awaiting_upload`.
 *   Never `processing` with nothing to finish it.
 * - A failed delivery (database unreachable) is retried with capped exponential backoff until the
 *   database answers, never dropped after N tries.
 * - If the process stops with notifications undelivered, their images are still `awaiting_upload`
 *   with the object stored: the resume sweep (`resume.ts`, at start and every
 *   `IMGPIPE_RESUME_EVERY_SECONDS`) starts them. A clean stop tries the buffer once before the
 *   database closes.
 */
import { SqlClient } from "@effect/sql"
import {
  type ImageRepository,
  type JobQueue,
  type ObjectCreated,
  type Settings,
  startProcessingMany
} from "@imgpipe/core"
import { currentTraceparent } from "@imgpipe/core/observability/traceContext"
import { Cause, Config, Context, Duration, Effect, Layer, Queue, Schedule } from "effect"

export class UploadNotifications extends Context.Tag("imgpipe/local/UploadNotifications")<
  UploadNotifications,
  {
    /** Queues the notification of a stored upload; never fails, never waits. */
    readonly notify: (event: ObjectCreated) => Effect.Effect<void>
    /**
     * Starts these stored uploads now (those still `awaiting_upload`), retrying until the database
     * answers; returns once they are started. Interruptible between attempts.
     */
    readonly deliver: (events: ReadonlyArray<ObjectCreated>) => Effect.Effect<void>
  }
>() {}

export interface NotificationOptions {
  /** Most notifications delivered in one batch. */
  readonly maxBatch: number
  /** How long the first notification of a batch waits for company. */
  readonly linger: Duration.Duration
  /** Longest wait between two attempts of a failing delivery (the backoff doubles up to this). */
  readonly retryMax: Duration.Duration
}

export const notificationOptionsConfig: Config.Config<NotificationOptions> = Config.all({
  maxBatch: Config.integer("IMGPIPE_NOTIFY_MAX_BATCH").pipe(Config.withDefault(200)),
  linger: Config.duration("IMGPIPE_NOTIFY_LINGER").pipe(Config.withDefault(Duration.millis(10))),
  retryMax: Config.duration("IMGPIPE_NOTIFY_RETRY_MAX").pipe(Config.withDefault(Duration.seconds(5)))
})

/** 200 ms, 400 ms, … up to `max` between attempts, jittered, for as long as it takes. */
const retryPolicy = (max: Duration.Duration) =>
  Schedule.exponential(Duration.millis(200)).pipe(
    Schedule.union(Schedule.spaced(max)),
    Schedule.jittered
  )

/** How long a clean stop gives the undelivered buffer before leaving it to the next start's sweep. */
const STOP_DELIVERY_TIMEOUT = Duration.seconds(2)

export const UploadNotificationsLive = Layer.scoped(
  UploadNotifications,
  Effect.gen(function* () {
    const options = yield* notificationOptionsConfig
    const sql = yield* SqlClient.SqlClient
    const queue = yield* Queue.unbounded<ObjectCreated>()
    const context = yield* Effect.context<Settings | ImageRepository | JobQueue>()

    // One attempt: the mark and the jobs in one transaction. Uninterruptible, so a stop never
    // leaves a statement half-answered on the one embedded connection; the waits between attempts
    // stay interruptible.
    const attempt = (events: ReadonlyArray<ObjectCreated>) =>
      Effect.uninterruptible(sql.withTransaction(startProcessingMany(events, { resendUnfinished: false }))).pipe(
        Effect.provide(context)
      )

    const deliver = (events: ReadonlyArray<ObjectCreated>): Effect.Effect<void> => {
      if (events.length === 0) return Effect.void
      let failures = 0
      return attempt(events).pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            failures++
            // The first failure and then every tenth: an outage of minutes stays a few lines.
            return failures === 1 || failures % 10 === 0
              ? Effect.logWarning(
                "could not start processing of stored uploads; retrying until the database answers " +
                  "(they stay awaiting_upload meanwhile)",
                { uploads: events.length, attempts: failures, error: String(error) }
              )
              : Effect.void
          })
        ),
        Effect.retry(retryPolicy(options.retryMax)),
        Effect.tap(() => (failures > 0
          ? Effect.logInfo("started the uploads held up by the failure", { uploads: events.length })
          : Effect.void)
        ),
        Effect.asVoid,
        // Not a failure of the database (a defect): nothing was committed, the images stay
        // awaiting_upload and the periodic resume sweep starts them.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.interrupt
            : Effect.logError("could not start processing of stored uploads; the resume sweep will retry them", {
              keys: events.map((event) => event.key),
              cause
            })
        )
      )
    }

    const takeBatch = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      yield* Effect.sleep(options.linger)
      const rest = yield* Queue.takeUpTo(queue, options.maxBatch - 1)
      return [first, ...rest]
    })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(takeBatch, deliver)))
    // On a stop: one bounded try for what is still buffered. Whatever it does not start stays
    // awaiting_upload with its object stored, for the next start's sweep.
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(queue).pipe(
        Effect.flatMap((rest) =>
          rest.length === 0
            ? Effect.void
            : Effect.disconnect(attempt(Array.from(rest))).pipe(
              Effect.timeoutFail({ duration: STOP_DELIVERY_TIMEOUT, onTimeout: () => "timed out" }),
              Effect.catchAllCause(() =>
                Effect.logInfo("stopping: uploads stored but not yet started will be started at the next start", {
                  uploads: rest.length
                })
              )
            )
        ),
        Effect.zipRight(Queue.shutdown(queue))
      )
    )
    return {
      // After a stop has begun, an upload that still completes is left `awaiting_upload` for the
      // next start's sweep (offering to a shut-down queue would interrupt its PUT's answer).
      // The upload request's trace context rides along (none while tracing is off), so the image's
      // jobs continue its trace although the start runs later, in a batch.
      notify: (event) =>
        Effect.flatMap(
          Queue.isShutdown(queue),
          (down) =>
            down ?
              Effect.void :
              Effect.flatMap(
                currentTraceparent,
                (traceparent) =>
                  Queue.offer(queue, traceparent._tag === "Some" ? { ...event, traceparent: traceparent.value } : event)
              )
        ).pipe(
          Effect.asVoid
        ),
      deliver
    }
  })
)
