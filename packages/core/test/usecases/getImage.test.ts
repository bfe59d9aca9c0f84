import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Effect, Layer } from "effect"
import { deliverySettingsLayer } from "../../src/config/delivery.js"
import type { ImageId } from "../../src/domain/ids.js"
import { IMAGE_SIZES, type ImageSize, rawKey, renditionKey } from "../../src/domain/sizes.js"
import { getImage } from "../../src/usecases/getImage.js"
import { requested, uploaded } from "./fixtures.js"

const recordSize = (memory: MemoryServices, id: ImageId, size: ImageSize, width: number) =>
  memory.images.repository.recordRendition(
    id,
    size,
    { key: renditionKey(id, size), width, height: width / 2, bytes: width * 10, contentType: "image/webp" },
    IMAGE_SIZES
  )

/** What each requested size is served as. */
const servedFor = (id: ImageId) =>
  Effect.forEach(
    IMAGE_SIZES,
    (size) => Effect.map(getImage({ imageId: id, size, format: "auto" }), (served) => served.servedSize)
  )

/** The memory services with `IMGPIPE_DELIVERY=signed`: every URL presigned (getImage-delivery.test.ts has `cdn`). */
const signed = (memory: MemoryServices) => Layer.merge(memory.layer, deliverySettingsLayer({ mode: "signed" }))

describe("getImage", () => {
  it.effect("serves the requested size, then the others smallest first, then the original", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      expect(yield* servedFor(id)).toEqual(["original", "original", "original"])
      const original = yield* getImage({ imageId: id, size: "medium", format: "auto" })
      expect(original).toMatchObject({
        servedSize: "original",
        fallback: true,
        url: `https://storage.test/raw/${rawKey(id)}?signature=test`,
        contentType: "image/jpeg",
        format: "jpeg",
        expiresAt: new Date(3_600_000),
        placeholder: null
      })

      yield* recordSize(memory, id, "large", 2048)
      expect(yield* servedFor(id)).toEqual(["large", "large", "large"])
      yield* recordSize(memory, id, "medium", 1024)
      expect(yield* servedFor(id)).toEqual(["medium", "medium", "large"])
      yield* recordSize(memory, id, "small", 320)
      expect(yield* servedFor(id)).toEqual(["small", "medium", "large"])

      expect(yield* getImage({ imageId: id, size: "large", format: "auto" })).toEqual({
        imageId: id,
        requestedSize: "large",
        servedSize: "large",
        fallback: false,
        format: "webp",
        url: `https://storage.test/processed/${renditionKey(id, "large")}?signature=test`,
        expiresAt: new Date(3_600_000),
        contentType: "image/webp",
        width: 2048,
        height: 1024,
        bytes: 20480,
        placeholder: null
      })
    }).pipe(Effect.provide(signed(memory)))
  })

  it.effect("falls back to the smallest other size before a larger one", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* recordSize(memory, id, "small", 320)
      yield* recordSize(memory, id, "large", 2048)
      const served = yield* getImage({ imageId: id, size: "medium", format: "auto" })
      expect(served).toMatchObject({ requestedSize: "medium", servedSize: "small", fallback: true })
    }).pipe(Effect.provide(signed(memory)))
  })

  it.effect("not found: unknown, nothing uploaded, expired, original removed with no rendition", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const notFound = (id: ImageId) =>
        Effect.flip(getImage({ imageId: id, size: "small", format: "auto" })).pipe(
          Effect.map((e) => [e._tag, e.message])
        )
      expect(yield* notFound("0190f1a4-7a9b-7c3d-8e2f-000000000000" as ImageId)).toEqual([
        "ImageNotFound",
        "No image has this id."
      ])
      const awaiting = yield* requested()
      expect(yield* notFound(awaiting)).toEqual(["ImageNotFound", "Nothing has been uploaded for this image yet."])

      yield* memory.images.reconcile.expireUploads([awaiting])
      expect(yield* notFound(awaiting)).toEqual([
        "ImageNotFound",
        "The upload for this image never arrived and its record has expired."
      ])

      const removed = yield* uploaded(memory)
      yield* memory.images.repository.markOriginalRemoved(removed)
      expect(yield* notFound(removed)).toEqual(["ImageNotFound", "No rendition or original is stored for this image."])
    }).pipe(Effect.provide(signed(memory)))
  })

  it.effect("a rejected image answers with its reason; one that only ran out of retries still serves", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const refused = yield* uploaded(memory)
      yield* memory.images.repository.markRejected(refused, { code: "too_many_pixels", message: "Too many pixels." })
      const rejection = yield* Effect.flip(getImage({ imageId: refused, size: "small", format: "auto" }))
      expect(rejection).toMatchObject({ _tag: "ImageRejected", code: "too_many_pixels", message: "Too many pixels." })

      const deadLettered = yield* uploaded(memory)
      yield* memory.images.repository.markRenditionFailed(deadLettered, "small", {
        code: "processing_failed",
        message: "gave up"
      })
      expect(yield* servedFor(deadLettered)).toEqual(["original", "original", "original"])
    }).pipe(Effect.provide(signed(memory)))
  })
})
