import { Context, type Effect, type Option } from "effect"
import type { QueueError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"

/**
 * The sending side of the three size queues. Each job goes to the queue of its `size`. Delivery
 * is at least once.
 */
export class JobQueue extends Context.Tag("imgpipe/JobQueue")<
  JobQueue,
  {
    readonly send: (jobs: ReadonlyArray<ProcessJob>) => Effect.Effect<void, QueueError>
    /**
     * Which of `ids` still have a live job on a size queue (waiting or in flight, not
     * dead-lettered): their images are backlogged, not stalled. `None` when the queue cannot tell;
     * the reconciler then decides by time alone.
     */
    readonly imagesWithLiveJobs: (
      ids: ReadonlyArray<ImageId>
    ) => Effect.Effect<Option.Option<ReadonlySet<ImageId>>, QueueError>
  }
>() {}
