import { Array as Arr, Effect, Option } from "effect"
import { Settings } from "../config.js"
import { ImageNotFound, ImageRejected } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, RenditionRecord } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import type { ImageSize, ServedSize } from "../domain/sizes.js"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { type Bucket, ObjectStorage } from "../services/ObjectStorage.js"

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
      return yield* new ImageNotFound({
        imageId: input.imageId,
        message: "Nothing has been uploaded for this image yet."
      })
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

    const served = Option.orElse(
      servedRendition(renditions, [input.size, ...settings.sizeOrder.filter((size) => size !== input.size)]),
      () => servedOriginal(image)
    )
    if (Option.isNone(served)) {
      return yield* new ImageNotFound({
        imageId: input.imageId,
        message: "No rendition or original is stored for this image."
      })
    }
    const { bucket, key, ...object } = served.value
    const link = yield* storage.presignDownload({ bucket, key, expiresInSeconds: settings.downloadUrlTtlSeconds })
    return {
      imageId: input.imageId,
      requestedSize: input.size,
      ...object,
      fallback: object.servedSize !== input.size,
      url: link.url,
      expiresAt: link.expiresAt
    } satisfies ServedImage
  }).pipe(Effect.withSpan("getImage"))

/** An object `getImage` can serve: where it is, and what it is. */
interface Servable {
  readonly bucket: Bucket
  readonly key: string
  readonly servedSize: ServedSize
  readonly contentType: string
  readonly width: number | null
  readonly height: number | null
  readonly bytes: number | null
}

/** The rendition of the first size of `order` that is ready. */
const servedRendition = (renditions: ReadonlyArray<RenditionRecord>, order: ReadonlyArray<ImageSize>) =>
  Arr.findFirst(order, (size) => Arr.findFirst(renditions, (r) => r.size === size && r.status === "ready")).pipe(
    Option.flatMap((r): Option.Option<Servable> =>
      r.key === null || r.contentType === null
        ? Option.none()
        : Option.some({
          bucket: "processed",
          key: r.key,
          servedSize: r.size,
          contentType: r.contentType,
          width: r.width,
          height: r.height,
          bytes: r.bytes
        })
    )
  )

/** The original, while it is stored. */
const servedOriginal = (image: ImageRecord): Option.Option<Servable> =>
  image.originalStored
    ? Option.some({
      bucket: "raw",
      key: rawKey(image.id),
      servedSize: "original",
      contentType: image.originalContentType ?? image.declaredContentType,
      width: image.originalWidth,
      height: image.originalHeight,
      bytes: image.originalBytes
    })
    : Option.none()
