import { Effect, Option, Stream } from "effect"
import type { ImageId } from "../domain/ids.js"
import type { ImageStatus, ImageView } from "../domain/image.js"
import { encodeStatusJson, type ImageStatusJson, toStatusJson } from "../domain/statusJson.js"
import { ChangeFeed } from "../services/ChangeFeed.js"
import { getStatus } from "./getStatus.js"

/**
 * Statuses after which an image's stream ends. `failed` is among them even with
 * `processing_failed` (a size dead-lettered or stalled), which a late delivery may still turn
 * `ready`: the status enum calls `failed` terminal, the webhook fires `image.failed` then, and a
 * client that wants to follow such an image further opens a new stream (or polls).
 */
export const isFinalStatus = (status: ImageStatus): boolean =>
  status === "ready" || status === "failed" || status === "expired"

/** What a watcher gets: the status now, and each different status after it. */
export interface StatusWatch {
  readonly current: ImageStatusJson
  /**
   * Every status that differs from the one before it, in order, ending after a final one (empty
   * when `current` is final already). Runs inside the scope `watchStatus` was given.
   */
  readonly changes: Stream.Stream<ImageStatusJson>
}

const sameStatus = (a: ImageStatusJson, b: ImageStatusJson) =>
  JSON.stringify(encodeStatusJson(a)) === JSON.stringify(encodeStatusJson(b))

/**
 * Follows one image's status: reads it now (failing with `ImageNotFound` for an unknown id, before
 * anything is subscribed), then, unless it is final, subscribes to the process's `ChangeFeed` for
 * the life of the scope. The read comes first, so every state the feed sends is at least as recent
 * (see `ChangeFeed.subscribe`) and no change after the read is missed.
 */
export const watchStatus = (imageId: ImageId) =>
  Effect.gen(function* () {
    const found = yield* getStatus(imageId)
    const current = toStatusJson({
      image: found.image,
      renditions: found.renditions.flatMap(({ rendition }) => Option.toArray(rendition))
    })
    if (isFinalStatus(current.status)) return { current, changes: Stream.empty } satisfies StatusWatch
    const feed = yield* ChangeFeed
    const views = yield* feed.subscribe(imageId)
    const changes = views.pipe(
      Stream.map((view: ImageView) => toStatusJson(view)),
      Stream.mapAccum(current, (last, next) => [next, sameStatus(last, next) ? Option.none() : Option.some(next)]),
      Stream.filterMap((next) => next),
      Stream.takeUntil((status) => isFinalStatus(status.status))
    )
    return { current, changes } satisfies StatusWatch
  }).pipe(Effect.withSpan("watchStatus"))
