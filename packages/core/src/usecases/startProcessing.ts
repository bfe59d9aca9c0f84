import { Data, Effect, Option } from "effect"
import { Settings } from "../config.js"
import { parseImageId } from "../domain/ids.js"
import type { ImageSize } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { JobQueue } from "../services/JobQueue.js"

/** An object arrived in the raw bucket (S3 ObjectCreated, or the embedded storage's PUT). */
export interface ObjectCreated {
  readonly key: string
  readonly bytes: number
}

export type StartOutcome = Data.TaggedEnum<{
  /** Jobs were sent for the sizes not yet ready. */
  Started: { readonly sizes: ReadonlyArray<ImageSize> }
  /** The image is already ready or failed: a duplicated event, nothing to do. */
  AlreadyHandled: {}
  /** The key is not an image id, or no such image: skipped (logged). */
  Ignored: { readonly reason: string }
}>
export const StartOutcome = Data.taggedEnum<StartOutcome>()

/**
 * Marks the image `processing` with its real size and sends one job per size still missing.
 * At-least-once and duplicated events are fine: a second call re-sends only unfinished sizes, and
 * `processImage` is idempotent. Fails (so the event is retried) only on infrastructure errors.
 */
export const startProcessing = (event: ObjectCreated) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const queue = yield* JobQueue

    const maybeId = parseImageId(event.key)
    if (Option.isNone(maybeId)) {
      yield* Effect.logWarning("object key is not an image id; skipped").pipe(Effect.annotateLogs({ key: event.key }))
      return StartOutcome.Ignored({ reason: "key is not an image id" })
    }
    const imageId = maybeId.value
    const found = yield* repo.markUploaded(imageId, { bytes: event.bytes })
    if (Option.isNone(found)) {
      yield* Effect.logWarning("object has no image record; skipped").pipe(Effect.annotateLogs({ key: event.key }))
      return StartOutcome.Ignored({ reason: "no such image" })
    }
    if (found.value.status !== "processing") {
      return StartOutcome.AlreadyHandled()
    }
    const view = yield* repo.find(imageId)
    const ready = new Set(
      Option.match(view, {
        onNone: () => [],
        onSome: (v) => v.renditions.filter((r) => r.status === "ready").map((r) => r.size)
      })
    )
    const sizes = settings.sizeOrder.filter((size) => !ready.has(size))
    yield* queue.send(sizes.map((size) => ({ image_id: imageId, raw_key: event.key, size })))
    yield* Effect.logDebug("processing started").pipe(Effect.annotateLogs({ image_id: imageId, sizes }))
    return StartOutcome.Started({ sizes })
  }).pipe(Effect.withSpan("startProcessing"))
