import { Effect, Option } from "effect"
import { Settings } from "../config.js"
import { ImageNotFound, ImageRejected } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import { isRejected } from "../domain/rules.js"
import type { ImageSize, ServedSize } from "../domain/sizes.js"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"

export interface ServedImage {
  readonly imageId: ImageId
  readonly requestedSize: ImageSize
  readonly servedSize: ServedSize
  /** True when something other than the requested size was served: do not cache for long. */
  readonly fallback: boolean
  readonly url: string
  readonly expiresAt: Date
  readonly contentType: string
  readonly width: number | null
  readonly height: number | null
  readonly bytes: number | null
}

/**
 * The fallback rule: the requested size if ready; else the other ready sizes from smallest to
 * largest; else the original if it was uploaded and not rejected. Nothing uploaded (or the upload
 * never arrived and the record expired) → not found.
 */
export const getImage = (input: { readonly imageId: ImageId; readonly size: ImageSize }) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage

    const found = yield* repo.find(input.imageId)
    if (Option.isNone(found)) {
      return yield* new ImageNotFound({ imageId: input.imageId, message: "No image has this id." })
    }
    const { image, renditions } = found.value
    if (image.status === "awaiting_upload") {
      return yield* new ImageNotFound({ imageId: input.imageId, message: "Nothing has been uploaded for this image yet." })
    }
    if (image.status === "expired") {
      return yield* new ImageNotFound({
        imageId: input.imageId,
        message: "The upload for this image never arrived and its record has expired."
      })
    }
    if (isRejected(image)) {
      return yield* new ImageRejected({
        imageId: input.imageId,
        code: image.errorCode,
        message: image.errorMessage ?? "The image was rejected."
      })
    }

    const ready = new Map(renditions.filter((r) => r.status === "ready").map((r) => [r.size, r] as const))
    const order = [input.size, ...settings.sizeOrder.filter((size) => size !== input.size)]
    const served = order.map((size) => ready.get(size)).find((r) => r !== undefined)
    if (served !== undefined && served.key !== null && served.contentType !== null) {
      const link = yield* storage.presignDownload({
        bucket: "processed",
        key: served.key,
        expiresInSeconds: settings.downloadUrlTtlSeconds
      })
      return {
        imageId: input.imageId,
        requestedSize: input.size,
        servedSize: served.size,
        fallback: served.size !== input.size,
        url: link.url,
        expiresAt: link.expiresAt,
        contentType: served.contentType,
        width: served.width,
        height: served.height,
        bytes: served.bytes
      } satisfies ServedImage
    }
    if (!image.originalStored) {
      return yield* new ImageNotFound({ imageId: input.imageId, message: "No rendition or original is stored for this image." })
    }
    const link = yield* storage.presignDownload({
      bucket: "raw",
      key: rawKey(image.id),
      expiresInSeconds: settings.downloadUrlTtlSeconds
    })
    return {
      imageId: input.imageId,
      requestedSize: input.size,
      servedSize: "original",
      fallback: true,
      url: link.url,
      expiresAt: link.expiresAt,
      contentType: image.originalContentType ?? image.declaredContentType,
      width: image.originalWidth,
      height: image.originalHeight,
      bytes: image.originalBytes
    } satisfies ServedImage
  }).pipe(Effect.withSpan("getImage"))
