/**
 * The embedded stand-in for S3's event notifications. In AWS, S3 answers the PUT as soon as the
 * object is stored and delivers ObjectCreated to StartProcessing afterwards, at least once, often
 * several records per event. Here the storage route hands each stored upload to this notifier and
 * answers; one fiber delivers what has arrived, in batches, to the same `startProcessingMany` use
 * case: one statement marks every image of the batch `processing`, one send carries all their
 * jobs. Under load a batch grows with the load, so the database work per upload shrinks as the
 * upload rate climbs instead of queueing behind the one embedded connection.
 *
 * Nothing is lost if the process stops with notifications in the buffer: their images are still
 * `awaiting_upload` with the object stored, which is exactly what the runner's start-up sweep
 * (`resumeUploads`) looks for. On a clean stop the buffer is delivered before the database closes.
 */
import { type ObjectCreated, startProcessingMany } from "@imgpipe/core"
import { Config, Context, Duration, Effect, Layer, Queue, Schedule } from "effect"

export class UploadNotifications extends Context.Tag("imgpipe/local/UploadNotifications")<
  UploadNotifications,
  {
    /** Queues the notification of a stored upload; never fails, never waits. */
    readonly notify: (event: ObjectCreated) => Effect.Effect<void>
  }
>() {}

export interface NotificationOptions {
  /** Most notifications delivered in one batch. */
  readonly maxBatch: number
  /** How long the first notification of a batch waits for company. */
  readonly linger: Duration.Duration
}

export const notificationOptionsConfig: Config.Config<NotificationOptions> = Config.all({
  maxBatch: Config.integer("IMGPIPE_NOTIFY_MAX_BATCH").pipe(Config.withDefault(200)),
  linger: Config.duration("IMGPIPE_NOTIFY_LINGER").pipe(Config.withDefault(Duration.millis(10)))
})

/** Retries of a failed batch (database briefly unreachable) before it is left to the start-up sweep. */
const retryPolicy = Schedule.exponential(Duration.millis(200)).pipe(Schedule.intersect(Schedule.recurs(5)))

const deliver = (batch: ReadonlyArray<ObjectCreated>) =>
  startProcessingMany(batch).pipe(
    Effect.retry(retryPolicy),
    Effect.catchAllCause((cause) =>
      Effect.logWarning("uploads stored but their notification failed; the start-up sweep will retry them", {
        keys: batch.map((event) => event.key),
        cause
      })
    )
  )

export const UploadNotificationsLive = Layer.scoped(
  UploadNotifications,
  Effect.gen(function* () {
    const options = yield* notificationOptionsConfig
    const queue = yield* Queue.unbounded<ObjectCreated>()
    const takeBatch = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      yield* Effect.sleep(options.linger)
      const rest = yield* Queue.takeUpTo(queue, options.maxBatch - 1)
      return [first, ...rest]
    })
    // Delivery runs uninterruptibly, so a stop never cuts a batch in half; the finalizer below then
    // delivers whatever is still buffered.
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(takeBatch, (batch) => Effect.uninterruptible(deliver(batch))))
    )
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(queue).pipe(
        Effect.flatMap((rest) => (rest.length === 0 ? Effect.void : deliver(Array.from(rest)))),
        Effect.zipRight(Queue.shutdown(queue))
      )
    )
    return { notify: (event) => Queue.offer(queue, event).pipe(Effect.asVoid) }
  })
)
