import { Effect, Option } from "effect"
import { Settings } from "../config.js"
import { ImageNotFound } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, RenditionRecord } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"
import type { WebhookSummary } from "../domain/webhook.js"
import { ImageRepository } from "../services/ImageRepository.js"

export interface ImageStatusView {
  readonly image: ImageRecord
  /** Every configured size, in size order; sizes with no row yet are `pending`. */
  readonly renditions: ReadonlyArray<{ readonly size: ImageSize; readonly rendition: Option.Option<RenditionRecord> }>
  /** The latest webhook delivery's state; null when the image has none. */
  readonly webhook?: WebhookSummary | null
}

/** An image's record and its renditions, every configured size listed. */
export const getStatus = (imageId: ImageId) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const found = yield* repo.find(imageId)
    if (Option.isNone(found)) {
      return yield* new ImageNotFound({ imageId, message: "No image has this id." })
    }
    const { image, renditions, webhook } = found.value
    return {
      image,
      webhook: webhook ?? null,
      renditions: settings.sizeOrder.map((size) => ({
        size,
        rendition: Option.fromNullable(renditions.find((r) => r.size === size))
      }))
    } satisfies ImageStatusView
  }).pipe(Effect.withSpan("getStatus"))
