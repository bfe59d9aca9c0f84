import { Context, type Effect } from "effect"
import type { QueueError } from "../domain/errors.js"
import type { ProcessJob } from "../domain/image.js"

/**
 * The sending side of the three size queues (SQS in AWS, PostgreSQL tables in the embedded mode).
 * Each job goes to the queue of its `size`. Delivery is at least once.
 */
export class JobQueue extends Context.Tag("imgpipe/JobQueue")<
  JobQueue,
  {
    readonly send: (jobs: ReadonlyArray<ProcessJob>) => Effect.Effect<void, QueueError>
  }
>() {}
