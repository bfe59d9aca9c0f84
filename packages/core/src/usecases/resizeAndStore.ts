/** The resizing half of `processImage`: one decode, every format, each object written, then recorded. */
import { Effect, Option } from "effect"
import { Settings } from "../config.js"
import type { Fingerprint } from "../domain/dedupe.js"
import { RENDITION_CACHE_CONTROL, worthStoring } from "../domain/formats.js"
import type { ProcessJob, RenditionVariant } from "../domain/image.js"
import { renditionKey, variantKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"
import { Resizer } from "../services/Resizer.js"

/**
 * Probes the original and records it (with its fingerprint), resizes it to the job's size in the
 * baseline and every `IMGPIPE_FORMATS` extra (the placeholder too for the smallest size), writes
 * them (`<id>/<size>`, `<id>/<size>.<format>`; an extra not smaller than the baseline and the
 * extras before it is dropped, `worthStoring`) and records the rendition. Returns the image as
 * recorded. Bad content fails with `InvalidImage`.
 */
export const resizeAndStore = (job: ProcessJob, bytes: Uint8Array, fingerprint: Fingerprint) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage
    const resizer = yield* Resizer
    const imageId = job.image_id

    const info = yield* resizer.probe(bytes)
    yield* repo.recordOriginal(imageId, {
      format: info.format,
      contentType: info.contentType,
      width: info.width,
      height: info.height,
      fingerprint
    })
    const small = job.size === settings.sizeOrder[0]
    const output = yield* resizer.resize(bytes, settings.sizes[job.size], {
      formats: settings.formats,
      placeholder: small
    })

    const key = renditionKey(imageId, job.size)
    const variants = worthStoring(output.data.byteLength, output.variants).map((
      v
    ): RenditionVariant & { readonly data: Uint8Array } => ({
      format: v.format,
      key: variantKey(imageId, job.size, v.format),
      bytes: v.data.byteLength,
      contentType: v.contentType,
      data: v.data
    }))
    const objects = [{ key, data: output.data, contentType: output.contentType }, ...variants]
    yield* Effect.forEach(
      objects,
      (o) =>
        storage.put({
          bucket: "processed",
          key: o.key,
          body: o.data,
          contentType: o.contentType,
          cacheControl: RENDITION_CACHE_CONTROL
        }),
      { concurrency: objects.length, discard: true }
    )
    return yield* repo.recordRendition(
      imageId,
      job.size,
      {
        key,
        width: output.width,
        height: output.height,
        bytes: output.data.byteLength,
        contentType: output.contentType,
        variants: variants.map(({ bytes, contentType, format, key }) => ({ format, key, bytes, contentType })),
        ...(small ? { placeholder: Option.getOrNull(output.placeholder) } : {})
      },
      settings.sizeOrder
    )
  })
