import { Array as Arr, Effect, Option } from "effect"
import { Settings } from "../config.js"
import { DeliverySettings } from "../config/delivery.js"
import { chooseFormat, type RequestedFormat } from "../domain/delivery.js"
import { ImageNotFound, ImageRejected } from "../domain/errors.js"
import { ACCEPTED_CONTENT_TYPES, OUTPUT_CONTENT_TYPES, OutputFormat } from "../domain/formats.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, Placeholder, RenditionRecord } from "../domain/image.js"
import { canonicalContentType, isRejected } from "../domain/rules.js"
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
  /**
   * The encoding served: `jpeg`, `webp` or `avif` for a rendition; the original's format (`png`,
   * `tiff`, …) when the original is served.
   */
  readonly format: string
  readonly url: string
  /** When `url` stops working; null for a stable URL that does not expire (`IMGPIPE_DELIVERY=cdn`). */
  readonly expiresAt: Date | null
  /** Of the encoding served. */
  readonly contentType: string
  readonly width: number | null
  readonly height: number | null
  /** Of the encoding served. */
  readonly bytes: number | null
  /** What to paint before the image arrives; null until the small size is made. */
  readonly placeholder: Placeholder | null
}

export interface GetImageInput {
  readonly imageId: ImageId
  readonly size: ImageSize
  /** `format=`: an encoding, or `auto` to choose by `accept`. */
  readonly format: RequestedFormat
  /** The request's `Accept` header. */
  readonly accept?: string | undefined
}

/**
 * The fallback rule: the requested size if ready; else the other ready sizes from smallest to
 * largest; else the original if it was uploaded and not rejected. Nothing uploaded (or the upload
 * never arrived and the record expired) → not found.
 *
 * A rendition is served in the encoding `chooseFormat` picks among the baseline and its stored
 * extras, at a stable CDN URL (`cdn`) or a presigned one (`signed`); the original is always presigned.
 */
export const getImage = (input: GetImageInput) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const delivery = yield* DeliverySettings
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
      servedRendition(renditions, [input.size, ...settings.sizeOrder.filter((size) => size !== input.size)], input),
      () => servedOriginal(image)
    )
    if (Option.isNone(served)) {
      return yield* new ImageNotFound({
        imageId: input.imageId,
        message: "No rendition or original is stored for this image."
      })
    }
    const { bucket, key, ...object } = served.value
    const link = bucket === "processed" && delivery.mode === "cdn"
      ? { url: `${delivery.cdnUrl}/${key}`, expiresAt: null }
      : yield* storage.presignDownload({ bucket, key, expiresInSeconds: settings.downloadUrlTtlSeconds })
    return {
      imageId: input.imageId,
      requestedSize: input.size,
      ...object,
      fallback: object.servedSize !== input.size,
      url: link.url,
      expiresAt: link.expiresAt,
      placeholder: image.placeholder
    } satisfies ServedImage
  }).pipe(Effect.withSpan("getImage", { attributes: { format: input.format } }))

/** An object `getImage` can serve: where it is, and what it is. */
interface Servable {
  readonly bucket: Bucket
  readonly key: string
  readonly servedSize: ServedSize
  readonly format: string
  readonly contentType: string
  readonly width: number | null
  readonly height: number | null
  readonly bytes: number | null
}

const OUTPUT_FORMAT_OF_TYPE: ReadonlyMap<string, OutputFormat> = new Map(
  OutputFormat.literals.map((format) => [OUTPUT_CONTENT_TYPES[format], format])
)

/** `image/png` → `png`: the format of a content type no table names. */
const subtype = (contentType: string): string => contentType.split("/")[1] ?? contentType

/** The encoding of a rendition (its baseline or one of its extras) to serve, as `chooseFormat` picks it. */
const chosenEncoding = (
  baseline: { readonly key: string; readonly contentType: string; readonly bytes: number | null },
  variants: RenditionRecord["variants"],
  request: Pick<GetImageInput, "accept" | "format">
) => {
  const baselineFormat = OUTPUT_FORMAT_OF_TYPE.get(canonicalContentType(baseline.contentType))
  // A baseline of a type this code does not know (none is written) is served as it is.
  if (baselineFormat === undefined) return { ...baseline, format: subtype(baseline.contentType) }
  const extras = variants.filter((variant) => variant.format !== baselineFormat)
  const format = chooseFormat({
    accept: request.accept,
    requested: request.format,
    available: [baselineFormat, ...extras.map((variant) => variant.format)]
  })
  const extra = extras.find((variant) => variant.format === format)
  return extra === undefined ? { ...baseline, format: baselineFormat } : extra
}

/** The rendition of the first size of `order` that is ready, in the encoding the request picks. */
const servedRendition = (
  renditions: ReadonlyArray<RenditionRecord>,
  order: ReadonlyArray<ImageSize>,
  request: Pick<GetImageInput, "accept" | "format">
) =>
  Arr.findFirst(order, (size) => Arr.findFirst(renditions, (r) => r.size === size && r.status === "ready")).pipe(
    Option.flatMap((r): Option.Option<Servable> => {
      const { key, contentType } = r
      if (key === null || contentType === null) return Option.none()
      const encoding = chosenEncoding({ key, contentType, bytes: r.bytes }, r.variants, request)
      return Option.some({
        bucket: "processed",
        key: encoding.key,
        servedSize: r.size,
        format: encoding.format,
        contentType: encoding.contentType,
        width: r.width,
        height: r.height,
        bytes: encoding.bytes
      })
    })
  )

/** The original, while it is stored. */
const servedOriginal = (image: ImageRecord): Option.Option<Servable> => {
  if (!image.originalStored) return Option.none()
  const contentType = image.originalContentType ?? image.declaredContentType
  return Option.some({
    bucket: "raw",
    key: rawKey(image.id),
    servedSize: "original",
    format: image.originalFormat ?? ACCEPTED_CONTENT_TYPES[canonicalContentType(contentType)] ?? subtype(contentType),
    contentType,
    width: image.originalWidth,
    height: image.originalHeight,
    bytes: image.originalBytes
  })
}
