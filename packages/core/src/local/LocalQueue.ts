import { Context, type Effect, type Option } from "effect"
import type { QueueError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"

/**
 * The embedded mode's three size queues as the runner's workers use them, with SQS's semantics:
 * at-least-once delivery, a visibility timeout, and a move to the dead letters once a job was
 * received `maxReceives` times without being deleted. Implemented on PostgreSQL tables in
 * `PgQueue.ts`, which also provides it to the use cases as `JobQueue`.
 */

/** A delivery. `id` is the handle for `delete` and `changeVisibility`. */
export interface ReceivedJob {
  readonly id: string
  readonly size: ImageSize
  readonly body: ProcessJob
  /** Deliveries so far, this one included (SQS's `ApproximateReceiveCount`). */
  readonly receiveCount: number
  /** W3C trace context of the sender's span (`observability/traceContext.ts`), when tracing was on. */
  readonly traceparent?: string | undefined
}

export interface ReceiveOptions {
  /** At most this many jobs. */
  readonly max: number
  /** Received jobs stay invisible this long unless deleted or released earlier. */
  readonly visibilityTimeoutSeconds: number
  /** A visible job already received this many times goes to `dead_jobs` instead. */
  readonly maxReceives: number
}

export interface DeadJob {
  readonly id: string
  readonly size: ImageSize
  /** The job, or `None` if its body could not be decoded (which is why it is here). */
  readonly body: Option.Option<ProcessJob>
  readonly receiveCount: number
  readonly lastError: string | null
  readonly createdAt: Date
  readonly movedAt: Date
}

export interface QueueDepth {
  /** Waiting to be received (including ones about to be dead-lettered by the next receive). */
  readonly visible: number
  /** Received and not yet deleted, or delayed by `changeVisibility`. */
  readonly notVisible: number
  readonly dead: number
}

export class LocalQueue extends Context.Tag("imgpipe/LocalQueue")<
  LocalQueue,
  {
    /** Enqueues each job on the queue of its `size`, with the current span's `traceparent` when tracing is on. */
    readonly send: (jobs: ReadonlyArray<ProcessJob>) => Effect.Effect<void, QueueError>
    /** `JobQueue.imagesWithLiveJobs`, answered exactly: the images of `ids` with a row in `jobs`. */
    readonly imagesWithLiveJobs: (ids: ReadonlyArray<ImageId>) => Effect.Effect<ReadonlySet<ImageId>, QueueError>
    /**
     * Dead-letters the exhausted jobs of `size`, then claims up to `max` visible ones (skipping
     * those another receiver is claiming), oldest first.
     */
    readonly receive: (
      size: ImageSize,
      options: ReceiveOptions
    ) => Effect.Effect<ReadonlyArray<ReceivedJob>, QueueError>
    /** Acknowledges a job: it is done. Deleting a job that is gone already succeeds. */
    readonly delete: (id: string) => Effect.Effect<void, QueueError>
    /**
     * Makes a received job visible again after `delaySeconds` (0: now), e.g. a short back-off
     * after a failure or a hand-back on shutdown; `error` is kept as the job's last error.
     */
    readonly changeVisibility: (
      id: string,
      options: { readonly delaySeconds: number; readonly error?: string }
    ) => Effect.Effect<void, QueueError>
    /** Dead-lettered jobs, of one size or all, oldest first. */
    readonly listDeadLetters: (size?: ImageSize) => Effect.Effect<ReadonlyArray<DeadJob>, QueueError>
    /** Moves the dead jobs of `size` back to their queue with a fresh receive count; how many. */
    readonly redrive: (size: ImageSize) => Effect.Effect<number, QueueError>
    readonly depth: (size: ImageSize) => Effect.Effect<QueueDepth, QueueError>
  }
>() {}
