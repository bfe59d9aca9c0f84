/**
 * The duplicate-upload half of `processImage`: the original's fingerprint, and the copy of an
 * earlier ready image's rendition (object storage copies, no decode) when the fingerprints match.
 * (A match that was refused is refused alike by `processImage` itself.)
 */
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { Settings } from "../config.js"
import { type Fingerprint, renderProfile } from "../domain/dedupe.js"
import type { ImageRecord, ProcessJob, RenditionRecord, RenditionVariant } from "../domain/image.js"
import { renditionKey, variantKey } from "../domain/sizes.js"
import { type DuplicateMatch, ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"

/** The SHA-256 (hex) of the original's bytes, as read (no second read), and the current profile. */
export const fingerprintOf = (bytes: Uint8Array) =>
  Effect.map(Settings, (settings): Fingerprint => ({
    sha256: createHash("sha256").update(bytes).digest("hex"),
    renderProfile: renderProfile(settings)
  }))

type ReadyMatch = Extract<DuplicateMatch, { readonly _tag: "Ready" }>

/** A ready rendition's fields (never null on a ready row: `renditions_ready_check`). */
const readyRendition = (rendition: RenditionRecord | undefined) => {
  if (rendition === undefined || rendition.status !== "ready") return Option.none()
  const { bytes, contentType, height, key, variants, width } = rendition
  return key !== null && width !== null && height !== null && bytes !== null && contentType !== null
    ? Option.some({ key, width, height, bytes, contentType, variants })
    : Option.none()
}

/** The original's probe results on the earlier image: the same bytes say the same. */
const originalInfo = (image: ImageRecord) =>
  image.originalFormat !== null && image.originalContentType !== null && image.originalWidth !== null &&
    image.originalHeight !== null
    ? Option.some({
      format: image.originalFormat,
      contentType: image.originalContentType,
      width: image.originalWidth,
      height: image.originalHeight
    })
    : Option.none()

/**
 * Copies the job's size from `source` (baseline and every variant) and records it with
 * `duplicateOf` (and, for the small size, the source's placeholder). Returns the image as recorded,
 * or none when the copy cannot stand in for a resize (the source lacks the size or its original's
 * details, or one of its objects is gone): the caller resizes then.
 */
export const copyFromDuplicate = (job: ProcessJob, source: ReadyMatch, fingerprint: Fingerprint) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage
    const rendition = readyRendition(source.renditions.find((r) => r.size === job.size))
    const info = originalInfo(source.image)
    if (Option.isNone(rendition) || Option.isNone(info)) return Option.none<ImageRecord>()
    const from = rendition.value
    const imageId = job.image_id

    yield* repo.recordOriginal(imageId, { ...info.value, fingerprint })
    const key = renditionKey(imageId, job.size)
    const variants = from.variants.map((v): RenditionVariant => ({
      ...v,
      key: variantKey(imageId, job.size, v.format)
    }))
    const copies = [
      { fromKey: from.key, toKey: key },
      ...from.variants.map((v, i) => ({ fromKey: v.key, toKey: variants[i]!.key }))
    ]
    const copied = yield* Effect.forEach(copies, (c) => storage.copy({ bucket: "processed", ...c }), {
      concurrency: copies.length,
      discard: true
    }).pipe(
      Effect.as(true),
      Effect.catchTag(
        "ObjectNotFound",
        (missing) =>
          Effect.logWarning("a rendition of the earlier upload is gone; resizing instead").pipe(
            Effect.annotateLogs({ duplicate_of: source.image.id, missing: missing.key }),
            Effect.as(false)
          )
      )
    )
    if (!copied) return Option.none<ImageRecord>()

    const after = yield* repo.recordRendition(
      imageId,
      job.size,
      {
        key,
        width: from.width,
        height: from.height,
        bytes: from.bytes,
        contentType: from.contentType,
        variants,
        duplicateOf: source.image.id,
        ...(job.size === settings.sizeOrder[0] ? { placeholder: source.image.placeholder } : {})
      },
      settings.sizeOrder
    )
    yield* Effect.logInfo("rendition copied from an earlier upload of the same bytes").pipe(
      Effect.annotateLogs({ duplicate_of: source.image.id })
    )
    return Option.some(after)
  })
