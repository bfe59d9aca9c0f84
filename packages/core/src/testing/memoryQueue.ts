import { Effect, Option } from "effect"
import type { ImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"
import { JobQueue } from "../services/JobQueue.js"

/**
 * `JobQueue` over an array. `pending` are the jobs sent and not yet taken (`take` drains them, as
 * workers would); `sent` is everything ever sent. `canTellLiveJobs` answers `imagesWithLiveJobs`
 * from `pending` (as the embedded table queue can); without it the answer is `None` (as SQS).
 */
export const makeMemoryQueue = (options: { readonly canTellLiveJobs?: boolean } = {}) => {
  const pending: Array<ProcessJob> = []
  const sent: Array<ProcessJob> = []

  const service = JobQueue.of({
    send: (jobs) =>
      Effect.sync(() => {
        pending.push(...jobs)
        sent.push(...jobs)
      }),
    imagesWithLiveJobs: (ids) =>
      Effect.sync(() =>
        options.canTellLiveJobs === true
          ? Option.some(new Set<ImageId>(ids.filter((id) => pending.some((job) => job.image_id === id))))
          : Option.none()
      )
  })

  return {
    service,
    sent,
    /** The pending jobs, removed from the queue. */
    take: () => pending.splice(0, pending.length),
    /** The pending jobs as `<image_id>/<size>`, sorted (the queue is left as it is). */
    pendingKeys: () => pending.map((job) => `${job.image_id}/${job.size}`).sort()
  }
}

export type MemoryQueue = ReturnType<typeof makeMemoryQueue>
