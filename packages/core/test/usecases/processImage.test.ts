import { describe, expect, it } from "@effect/vitest"
import { fakeEncoding, fakeImage, makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Effect, Option } from "effect"
import { StorageError } from "../../src/domain/errors.js"
import type { ImageId } from "../../src/domain/ids.js"
import type { ProcessJob } from "../../src/domain/image.js"
import { type ImageSize, rawKey, renditionKey } from "../../src/domain/sizes.js"
import { ObjectStorage } from "../../src/services/ObjectStorage.js"
import { processImage, ProcessOutcome } from "../../src/usecases/processImage.js"
import { uploaded } from "./fixtures.js"

const job = (id: ImageId, size: ImageSize): ProcessJob => ({ image_id: id, raw_key: rawKey(id), size })

/** One delivery of the job (the first of three unless told). */
const run = (id: ImageId, size: ImageSize, receiveCount = 1) =>
  processImage({ job: job(id, size), receiveCount, maxReceives: 3 })

const view = (memory: MemoryServices, id: ImageId) => Effect.map(memory.images.repository.find(id), Option.getOrThrow)

/** Storage whose reads fail (transiently); everything else as in memory. */
const brokenReads = (memory: MemoryServices) =>
  Effect.provideService(ObjectStorage, {
    ...memory.storage.service,
    get: (input) => Effect.fail(new StorageError({ operation: "get", key: input.key, message: "connection reset" }))
  })

describe("processImage", () => {
  it.effect("writes each size, records it, and the last one makes the image ready", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory, { width: 4000, height: 3000 })
      expect(yield* run(id, "small")).toEqual(ProcessOutcome.Processed({ imageReady: false }))
      expect(yield* run(id, "large")).toEqual(ProcessOutcome.Processed({ imageReady: false }))
      expect(yield* run(id, "medium")).toEqual(ProcessOutcome.Processed({ imageReady: true }))

      const { image, renditions } = yield* view(memory, id)
      expect(image).toMatchObject({
        status: "ready",
        originalFormat: "jpeg",
        originalWidth: 4000,
        originalHeight: 3000
      })
      expect(renditions.map((r) => [r.size, r.status, r.width, r.height, r.contentType])).toEqual([
        ["small", "ready", 320, 240, "image/jpeg"],
        ["medium", "ready", 1024, 768, "image/jpeg"],
        ["large", "ready", 2048, 1536, "image/jpeg"]
      ])
      const small = Option.getOrThrow(memory.storage.object("processed", renditionKey(id, "small")))
      expect(small).toMatchObject({ contentType: "image/jpeg", cacheControl: "public, max-age=31536000, immutable" })
      expect(small.body).toEqual(fakeEncoding("jpeg", { width: 320, height: 240 }))
      // Originals are kept by default.
      expect(memory.storage.keys("raw")).toEqual([rawKey(id)])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("is idempotent: a duplicated job finds its size done and writes nothing", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory, { width: 100, height: 100, alpha: true })
      yield* run(id, "small")
      expect(memory.resizer.resized).toEqual([320])
      expect(yield* run(id, "small")).toEqual(ProcessOutcome.AlreadyDone())
      expect(memory.resizer.resized).toEqual([320])
      const small = yield* view(memory, id).pipe(Effect.map((v) => v.renditions[0]))
      // Never enlarged; alpha → WebP.
      expect(small).toMatchObject({ size: "small", width: 100, height: 100, contentType: "image/webp" })
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("refuses bad content for good: recorded, the original marked refused, later jobs skipped", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory, new TextEncoder().encode("hello, not an image"))
      expect(yield* run(id, "small")).toEqual(ProcessOutcome.Rejected({ code: "not_an_image" }))
      const { image, renditions } = yield* view(memory, id)
      expect(image).toMatchObject({ status: "failed", errorCode: "not_an_image" })
      expect(renditions).toEqual([])
      expect(memory.storage.dispositions.get(rawKey(id))).toBe("refused")

      memory.storage.dispositions.clear()
      expect(yield* run(id, "medium")).toEqual(ProcessOutcome.Skipped({ reason: "image was rejected: not_an_image" }))
      // The mark is made again (the refusing job may have failed to make it).
      expect(memory.storage.dispositions.get(rawKey(id))).toBe("refused")
      expect(memory.storage.keys("processed")).toEqual([])

      // Another size's job refusing the same bytes in other words changes nothing: the first stands.
      yield* memory.images.repository.markRejected(id, { code: "corrupt_image", message: "worded otherwise" })
      expect((yield* view(memory, id)).image).toMatchObject({ errorCode: "not_an_image" })
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("refuses each kind of bad content with its code", () => {
    const memory = makeMemoryServices({ env: { IMGPIPE_MAX_UPLOAD_BYTES: "60" }, maxPixels: 1_000_000 })
    return Effect.gen(function* () {
      const code = (bytes: Uint8Array) =>
        Effect.flatMap(uploaded(memory, bytes), (id) => run(id, "small")).pipe(
          Effect.map((outcome) => (outcome._tag === "Rejected" ? outcome.code : outcome._tag))
        )
      expect(yield* code(new Uint8Array())).toBe("empty_file")
      expect(yield* code(fakeImage({ format: "heic", width: 10, height: 10 }))).toBe("unsupported_format")
      expect(yield* code(fakeImage({ width: 2000, height: 1000 }))).toBe("too_many_pixels")
      expect(yield* code(new Uint8Array(61).fill(32))).toBe("file_too_large")
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("an unknown image's job is dropped", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const outcome = yield* run("0190f1a4-7a9b-7c3d-8e2f-000000000000" as ImageId, "small")
      expect(outcome).toEqual(ProcessOutcome.Skipped({ reason: "no such image" }))
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a transient failure fails the job for a retry, and records nothing before the last delivery", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      const failure = yield* run(id, "small", 2).pipe(brokenReads(memory), Effect.flip)
      expect(failure).toMatchObject({
        _tag: "TransientFailure",
        imageId: id,
        size: "small",
        message: "storage get failed: connection reset"
      })
      expect((yield* view(memory, id)).image.status).toBe("processing")
      expect(memory.storage.dispositions.size).toBe(0)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("the last delivery's failure is recorded on the size and the image, the original marked dead-lettered", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      const failure = yield* run(id, "medium", 3).pipe(brokenReads(memory), Effect.flip)
      expect(failure._tag).toBe("TransientFailure")
      const message = "Gave up on the medium size after 3 attempts: storage get failed: connection reset"
      const { image, renditions } = yield* view(memory, id)
      expect(image).toMatchObject({ status: "failed", errorCode: "processing_failed", errorMessage: message })
      expect(renditions.map((r) => [r.size, r.status, r.errorCode])).toEqual([[
        "medium",
        "failed",
        "processing_failed"
      ]])
      expect(memory.storage.dispositions.get(rawKey(id))).toBe("dead-lettered")

      // Redriven later, it succeeds: the size is recorded, the mark goes.
      expect(yield* run(id, "medium", 1)).toEqual(ProcessOutcome.Processed({ imageReady: false }))
      expect(memory.storage.dispositions.has(rawKey(id))).toBe(false)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a missing original and a defect are transient failures too", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* memory.storage.service.delete("raw", rawKey(id))
      const missing = yield* run(id, "small").pipe(Effect.flip)
      expect(missing.message).toBe(`the original raw/${id} is missing`)

      const defect = yield* run(id, "small").pipe(
        Effect.provideService(ObjectStorage, { ...memory.storage.service, get: () => Effect.dieMessage("boom") }),
        Effect.flip
      )
      expect(defect._tag).toBe("TransientFailure")
      expect(defect.message).toMatch(/^unexpected error: .*boom/)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("without keeping originals, the original goes once the image is ready", () => {
    const memory = makeMemoryServices({ env: { IMGPIPE_KEEP_ORIGINALS: "false" } })
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* run(id, "small")
      yield* run(id, "medium")
      expect(memory.storage.keys("raw")).toEqual([rawKey(id)])
      yield* run(id, "large")
      expect(memory.storage.keys("raw")).toEqual([])
      expect((yield* view(memory, id)).image).toMatchObject({ status: "ready", originalStored: false })
    }).pipe(Effect.provide(memory.layer))
  })
})
