/**
 * processImage with extra formats, the placeholder and duplicate uploads, on the in-memory services
 * and the fake resizer (whose `resized` / `calls` show whether anything was decoded).
 */
import { describe, expect, it } from "@effect/vitest"
import {
  fakeImage,
  fakePlaceholder,
  makeMemoryServices,
  type MemoryServices,
  testSettingsLayer
} from "@imgpipe/core/testing"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { renderProfile } from "../../src/domain/dedupe.js"
import type { ImageId } from "../../src/domain/ids.js"
import { IMAGE_SIZES, type ImageSize, rawKey, renditionKey, variantKey } from "../../src/domain/sizes.js"
import { toStatusJson } from "../../src/domain/statusJson.js"
import { Resizer } from "../../src/services/Resizer.js"
import { processImage, ProcessOutcome, renditionOutcomeLabel } from "../../src/usecases/processImage.js"
import { uploaded } from "./fixtures.js"

const run = (id: ImageId, size: ImageSize) =>
  processImage({ job: { image_id: id, raw_key: rawKey(id), size }, receiveCount: 1, maxReceives: 3 })

const runAll = (id: ImageId) => Effect.forEach(IMAGE_SIZES, (size) => run(id, size))

const view = (memory: MemoryServices, id: ImageId) => Effect.map(memory.images.repository.find(id), Option.getOrThrow)

const processed = (memory: MemoryServices, key: string) => Option.getOrThrow(memory.storage.object("processed", key))

/** The fake resizer with its probes counted. */
const countingProbes = (memory: MemoryServices) => {
  const probes: Array<number> = []
  const provide = Effect.provideService(Resizer, {
    ...memory.resizer.service,
    probe: (bytes) =>
      Effect.zipRight(Effect.sync(() => probes.push(bytes.byteLength)), memory.resizer.service.probe(bytes))
  })
  return { probes, provide }
}

describe("processImage: formats and placeholder", () => {
  it.effect("writes the baseline and each extra, records them, and makes the placeholder in the small size's job only", () => {
    const memory = makeMemoryServices({ env: { IMGPIPE_FORMATS: "webp,avif" } })
    return Effect.gen(function* () {
      const id = yield* uploaded(memory, { width: 4000, height: 3000 })
      yield* runAll(id)
      const { image, renditions } = yield* view(memory, id)
      expect(memory.resizer.calls).toEqual([
        { width: 320, formats: ["webp", "avif"], placeholder: true },
        { width: 1024, formats: ["webp", "avif"], placeholder: false },
        { width: 2048, formats: ["webp", "avif"], placeholder: false }
      ])
      expect(image.placeholder).toEqual(fakePlaceholder(320, 240))
      expect(image.duplicateOf).toBeNull()
      expect(image.sha256).toBe(createHash("sha256").update(fakeImage({ width: 4000, height: 3000 })).digest("hex"))
      for (const rendition of renditions) {
        const size = rendition.size
        expect(rendition.variants).toEqual(
          (["webp", "avif"] as const).map((format) => ({
            format,
            key: variantKey(id, size, format),
            bytes: processed(memory, variantKey(id, size, format)).body.byteLength,
            contentType: `image/${format}`
          }))
        )
        for (const format of ["webp", "avif"]) {
          expect(processed(memory, variantKey(id, size, format))).toMatchObject({
            contentType: `image/${format}`,
            cacheControl: "public, max-age=31536000, immutable"
          })
        }
      }
      expect(memory.storage.keys("processed")).toHaveLength(9)
      const { dominantColor, height, thumbhash, width } = fakePlaceholder(320, 240)
      const json = toStatusJson({ image, renditions })
      expect([json.placeholder, json.duplicate_of]).toEqual([
        { thumbhash, dominant_color: dominantColor, width, height },
        null
      ])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("an image with alpha gets no WebP extra (its baseline is WebP); none asked, none made", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const alpha = yield* uploaded(memory, { width: 500, height: 500, alpha: true })
      yield* run(alpha, "small")
      expect((yield* view(memory, alpha)).renditions[0]?.variants).toEqual([])
      expect(memory.storage.keys("processed")).toEqual([renditionKey(alpha, "small")])
      // Before the small size is made the status JSON says null.
      const opaque = yield* uploaded(memory, { width: 500, height: 500 })
      yield* run(opaque, "medium")
      expect(toStatusJson(yield* view(memory, opaque)).placeholder).toBeNull()
      yield* run(opaque, "small").pipe(Effect.provide(testSettingsLayer({ IMGPIPE_FORMATS: "none" })))
      expect((yield* view(memory, opaque)).renditions[0]?.variants).toEqual([])
    }).pipe(Effect.provide(memory.layer))
  })
})

describe("processImage: duplicate uploads", () => {
  it.effect("the same bytes again: every size copied from the first, duplicate_of set, nothing resized", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const first = yield* uploaded(memory, { width: 3000, height: 2000 })
      yield* runAll(first)
      const resizes = memory.resizer.resized.length
      const second = yield* uploaded(memory, { width: 3000, height: 2000 })
      const { probes, provide } = countingProbes(memory)
      const outcomes = yield* runAll(second).pipe(provide)
      expect(outcomes).toEqual([
        ProcessOutcome.Copied({ imageReady: false, from: first }),
        ProcessOutcome.Copied({ imageReady: false, from: first }),
        ProcessOutcome.Copied({ imageReady: true, from: first })
      ])
      expect(outcomes.map(renditionOutcomeLabel)).toEqual(["copied", "copied", "copied"])
      expect(memory.resizer.resized).toHaveLength(resizes)
      expect(probes).toEqual([])

      const a = yield* view(memory, first)
      const b = yield* view(memory, second)
      expect(b.image).toMatchObject({
        status: "ready",
        duplicateOf: first,
        placeholder: a.image.placeholder,
        sha256: a.image.sha256,
        originalFormat: "jpeg",
        originalWidth: 3000,
        originalHeight: 2000
      })
      expect(b.renditions.map((r) => [r.size, r.key, r.width, r.height, r.bytes, r.contentType, r.variants])).toEqual(
        a.renditions.map((r) => [
          r.size,
          renditionKey(second, r.size),
          r.width,
          r.height,
          r.bytes,
          r.contentType,
          r.variants.map((v) => ({ ...v, key: variantKey(second, r.size, v.format) }))
        ])
      )
      for (const size of IMAGE_SIZES) {
        expect(processed(memory, renditionKey(second, size))).toEqual(processed(memory, renditionKey(first, size)))
        expect(processed(memory, variantKey(second, size, "webp"))).toEqual(
          processed(memory, variantKey(first, size, "webp"))
        )
      }
      expect(toStatusJson(b)).toMatchObject({ status: "ready", duplicate_of: first })
      // A repeated job finds its size done.
      expect(yield* run(second, "small")).toEqual(ProcessOutcome.AlreadyDone())
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("bytes refused before are refused again with the same code and message, without a probe or resize", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const bytes = new TextEncoder().encode("GIF89a, or so it says")
      const first = yield* uploaded(memory, bytes)
      expect(yield* run(first, "medium")).toEqual(ProcessOutcome.Rejected({ code: "not_an_image" }))
      const { probes, provide } = countingProbes(memory)
      const second = yield* uploaded(memory, bytes)
      expect(yield* run(second, "small").pipe(provide)).toEqual(ProcessOutcome.Rejected({ code: "not_an_image" }))
      expect(probes).toEqual([])
      expect(memory.resizer.resized).toEqual([])
      const a = yield* view(memory, first)
      const b = yield* view(memory, second)
      expect(b.image).toMatchObject({
        status: "failed",
        errorCode: "not_an_image",
        errorMessage: a.image.errorMessage,
        sha256: a.image.sha256,
        duplicateOf: null
      })
      expect(memory.storage.dispositions.get(rawKey(second))).toBe("refused")
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("other settings (formats, sizes, pixel limit) are another profile: resized, not copied", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const first = yield* uploaded(memory)
      yield* runAll(first)
      const second = yield* uploaded(memory)
      const avif = testSettingsLayer({ IMGPIPE_FORMATS: "webp,avif" })
      expect(yield* run(second, "small").pipe(Effect.provide(avif))).toEqual(
        ProcessOutcome.Processed({ imageReady: false })
      )
      expect(memory.resizer.resized).toEqual([320, 1024, 2048, 320])
      const third = yield* uploaded(memory)
      const biggerSmall = testSettingsLayer({ IMGPIPE_SIZE_SMALL: "400" })
      expect((yield* run(third, "small").pipe(Effect.provide(biggerSmall)))._tag).toBe("Processed")
      expect((yield* view(memory, third)).image.duplicateOf).toBeNull()
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a copy whose source object is gone falls back to a resize", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const first = yield* uploaded(memory)
      yield* runAll(first)
      yield* memory.storage.service.delete("processed", variantKey(first, "large", "webp"))
      const second = yield* uploaded(memory)
      expect(yield* run(second, "small")).toEqual(ProcessOutcome.Copied({ imageReady: false, from: first }))
      expect(yield* run(second, "large")).toEqual(ProcessOutcome.Processed({ imageReady: false }))
      expect(memory.resizer.resized).toEqual([320, 1024, 2048, 2048])
      const { image, renditions } = yield* view(memory, second)
      // Some of its sizes were copied: it says from which image.
      expect(image.duplicateOf).toBe(first)
      expect(renditions.map((r) => r.variants.map((v) => v.key))).toEqual([
        [variantKey(second, "small", "webp")],
        [variantKey(second, "large", "webp")]
      ])
      expect(Option.isSome(memory.storage.object("processed", variantKey(second, "large", "webp")))).toBe(true)
    }).pipe(Effect.provide(memory.layer))
  })
})

describe("renderProfile", () => {
  const base = {
    sizes: {
      small: { width: 320, height: 320 },
      medium: { width: 1024, height: 1024 },
      large: { width: 2048, height: 2048 }
    },
    sizeOrder: IMAGE_SIZES,
    formats: ["webp"] as const,
    maxPixels: 50_000_000
  }
  it("is short, stable, and changes with every setting that shapes the output", () => {
    const profile = renderProfile(base)
    expect(profile).toBe("e1;small=320x320,medium=1024x1024,large=2048x2048;webp;px=50000000")
    expect(renderProfile({ ...base })).toBe(profile)
    const variants = [
      renderProfile({ ...base, formats: [] }),
      renderProfile({ ...base, formats: ["webp", "avif"] }),
      renderProfile({ ...base, maxPixels: 1_000 }),
      renderProfile({ ...base, sizes: { ...base.sizes, small: { width: 321, height: 320 } } })
    ]
    expect(new Set([profile, ...variants]).size).toBe(5)
  })
})
