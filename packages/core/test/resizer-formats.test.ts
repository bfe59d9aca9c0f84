import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from "thumbhash"
import { SettingsLive } from "../src/config.js"
import type { ExtraFormat } from "../src/domain/formats.js"
import type { Placeholder } from "../src/domain/image.js"
import { estimateResizeBytes } from "../src/resizer/memoryEstimate.js"
import { SharpResizerLive } from "../src/resizer/SharpResizer.js"
import { type ResizedImage, Resizer } from "../src/services/Resizer.js"
import { FAKE_PLACEHOLDER_COLOR, fakeImage, makeFakeResizer } from "../src/testing/fakeResizer.js"

// Real sharp on real files: the extra formats and the placeholder made from the one decode.

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./fixtures/images/${name}`, import.meta.url)))

const resizerLayer = SharpResizerLive.pipe(
  Layer.provide(SettingsLive),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
)

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)
const SMALL = { width: 320, height: 320 }
const BOTH: ReadonlyArray<ExtraFormat> = ["webp", "avif"]

/** What sharp's header read calls each of our output formats (AVIF is HEIF with AV1 inside). */
const HEADER_FORMAT = { jpeg: "jpeg", webp: "webp", avif: "heif" } as const

/**
 * RGB pixels of an encoded image squeezed to a fixed size, for comparisons; alpha flattened on grey
 * (the colour under fully transparent pixels is the encoder's choice).
 */
const thumbRgb = (data: Uint8Array, width: number, height: number) =>
  promise(() =>
    sharp(data).resize(width, height, { fit: "fill" }).flatten({ background: "#808080" }).toColourspace("srgb").raw()
      .toBuffer()
  )

/** Mean absolute difference of two raw buffers of the same shape. */
const meanAbsDiff = (a: Uint8Array, b: Uint8Array): number => {
  expect(a.length).toBe(b.length)
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0))
  return sum / a.length
}

/** Alpha-weighted mean R, G, B of straight RGBA pixels. */
const meanRgb = (rgba: Uint8Array): ReadonlyArray<number> => {
  const sums = [0, 0, 0]
  let weight = 0
  for (let i = 0; i < rgba.length; i += 4) {
    const alpha = rgba[i + 3] ?? 0
    for (let c = 0; c < 3; c++) sums[c]! += (rgba[i + c] ?? 0) * alpha
    weight += alpha
  }
  return sums.map((sum) => sum / weight)
}

/** The rendition's own mean colour, decoded by sharp. */
const renditionMean = (out: ResizedImage) =>
  Effect.map(promise(() => sharp(out.data).toColourspace("srgb").ensureAlpha().raw().toBuffer()), meanRgb)

const hashMean = (placeholder: Placeholder): ReadonlyArray<number> =>
  meanRgb(thumbHashToRGBA(Buffer.from(placeholder.thumbhash, "base64")).rgba)

const hexRgb = (hex: string): ReadonlyArray<number> => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))

const maxChannelGap = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  Math.max(...a.map((value, i) => Math.abs(value - (b[i] ?? 0))))

/**
 * Measured on the fixtures at 320: the ThumbHash's mean is within 1.4–4.6 of the rendition's (per
 * channel, out of 255); different photos are 30 and more apart.
 */
const HASH_MEAN_TOLERANCE = 8

const placeholderOf = (out: ResizedImage): Placeholder => {
  expect(Option.isSome(out.placeholder)).toBe(true)
  return Option.getOrThrow(out.placeholder)
}

interface Case {
  readonly file: string
  readonly baseline: "jpeg" | "webp"
  /** Channels of the decoded extras: 3 opaque (grey too: the extras are colour), 4 with alpha. */
  readonly channels: 3 | 4
}

const CASES: ReadonlyArray<Case> = [
  { file: "photo-6028x3391-bird-20mp.jpg", baseline: "jpeg", channels: 3 },
  { file: "grayscale-2560x1600.jpg", baseline: "jpeg", channels: 3 },
  { file: "cmyk-500x333-swop-icc.jpg", baseline: "jpeg", channels: 3 },
  { file: "rgb16-290x442.png", baseline: "jpeg", channels: 3 },
  { file: "exif-orientation-6.jpg", baseline: "jpeg", channels: 3 },
  { file: "photo-3024x4032-iphone-xs-p3.avif", baseline: "jpeg", channels: 3 },
  { file: "animated-370x285-10frames.gif", baseline: "jpeg", channels: 3 },
  { file: "alpha-2048x1536-rgba.png", baseline: "webp", channels: 4 }
]

layer(resizerLayer, { timeout: 60_000 })("SharpResizer extra formats", (it) => {
  for (const source of CASES) {
    it.effect(`${source.file}: every extra is that format, the same size, 8-bit sRGB, same picture`, () =>
      Effect.gen(function* () {
        const resizer = yield* Resizer
        const out = yield* resizer.resize(fixture(source.file), SMALL, { formats: BOTH })
        expect(out.format).toBe(source.baseline)
        // The baseline's own format is not made twice: an alpha image has no WebP extra.
        const expected = BOTH.filter((format) => format !== source.baseline)
        expect(out.variants.map((v) => v.format)).toEqual(expected)
        const baselinePixels = yield* thumbRgb(out.data, 40, 40)
        for (const variant of out.variants) {
          const label = `${source.file} ${variant.format}`
          expect(variant.contentType, label).toBe(`image/${variant.format}`)
          const meta = yield* promise(() => sharp(variant.data).metadata())
          expect(meta.format, label).toBe(HEADER_FORMAT[variant.format])
          if (variant.format === "avif") expect(meta.compression, label).toBe("av1")
          expect([meta.width, meta.height], label).toEqual([out.width, out.height])
          expect(meta.depth, label).toBe("uchar")
          expect(meta.hasProfile, label).toBe(false)
          expect(meta.exif, label).toBeUndefined()
          expect(meta.orientation, label).toBeUndefined()
          const decoded = yield* promise(() =>
            sharp(variant.data, { failOn: "warning" }).raw().toBuffer({ resolveWithObject: true })
          )
          expect([decoded.info.width, decoded.info.height, decoded.info.channels], label).toEqual([
            out.width,
            out.height,
            source.channels
          ])
          // The same pixels as the baseline, up to the two encoders' losses (measured 0.4–7.1, the most
          // on the grainy grey photo); the same picture upside down measured 12–87 away (the mirror-
          // symmetric GIF aside).
          const gap = meanAbsDiff(yield* thumbRgb(variant.data, 40, 40), baselinePixels)
          expect(gap, label).toBeLessThan(10)
        }
      }))
  }

  it.effect("an alpha PNG: WebP baseline, an AVIF keeping its alpha, no WebP extra", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const out = yield* resizer.resize(fixture("alpha-2048x1536-rgba.png"), SMALL, { formats: ["avif", "webp"] })
      expect(out.format).toBe("webp")
      expect(out.variants.map((v) => v.format)).toEqual(["avif"])
      const avif = out.variants[0]!
      const meta = yield* promise(() => sharp(avif.data).metadata())
      expect(meta.hasAlpha).toBe(true)
      // The alpha plane itself survives: the same transparency as the baseline's, not all opaque.
      const alphaOf = (data: Uint8Array) =>
        promise(() => sharp(data).extractChannel(3).resize(40, 30, { fit: "fill" }).raw().toBuffer())
      const ours = yield* alphaOf(avif.data)
      const reference = yield* alphaOf(out.data)
      expect(meanAbsDiff(ours, reference)).toBeLessThan(4)
      expect(meanAbsDiff(reference, Buffer.alloc(reference.length, 255))).toBeGreaterThan(20)
    }))

  it.effect("EXIF orientation 6: the extras come out the right way up", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("exif-orientation-6.jpg")
      const out = yield* resizer.resize(bytes, SMALL, { formats: BOTH })
      expect([out.width, out.height]).toEqual([240, 320])
      // References made independently of `autoOrient`: the stored (landscape) pixels, rotated by hand.
      const stored = yield* promise(() => sharp(bytes).raw().toBuffer({ resolveWithObject: true }))
      const rotated = (angle: number) =>
        promise(() =>
          sharp(stored.data, { raw: stored.info }).rotate(angle).resize(60, 80, { fit: "fill" }).raw().toBuffer()
        )
      const clockwise = yield* rotated(90)
      const anticlockwise = yield* rotated(270)
      for (const variant of out.variants) {
        const ours = yield* thumbRgb(variant.data, 60, 80)
        const right = meanAbsDiff(ours, clockwise)
        expect(right, variant.format).toBeLessThan(6)
        expect(meanAbsDiff(ours, anticlockwise), variant.format).toBeGreaterThan(5 * right + 15)
      }
    }))

  it.effect("CMYK and 16-bit input: the extras are 8-bit, 3-channel sRGB, colour-managed like the baseline", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      for (const file of ["cmyk-500x333-swop-icc.jpg", "rgb16-290x442.png"]) {
        const bytes = fixture(file)
        const input = yield* promise(() => sharp(bytes).metadata())
        expect([input.space, input.depth]).toEqual(file.startsWith("cmyk") ? ["cmyk", "uchar"] : ["rgb16", "ushort"])
        const out = yield* resizer.resize(bytes, SMALL, { formats: BOTH })
        expect(out.variants).toHaveLength(2)
        for (const variant of out.variants) {
          const meta = yield* promise(() => sharp(variant.data).metadata())
          expect([meta.space, meta.channels, meta.depth, meta.hasProfile], `${file} ${variant.format}`).toEqual([
            "srgb",
            3,
            "uchar",
            false
          ])
        }
        // CMYK numbers read without the profile are far from the managed ones: the extras are managed.
        if (file.startsWith("cmyk")) {
          const unmanaged = yield* promise(() =>
            sharp(bytes, { ignoreIcc: true }).resize(40, 27, { fit: "fill" }).toColourspace("srgb").raw().toBuffer()
          )
          const managed = yield* thumbRgb(out.data, 40, 27)
          for (const variant of out.variants) {
            const ours = yield* thumbRgb(variant.data, 40, 27)
            expect(meanAbsDiff(ours, unmanaged)).toBeGreaterThan(2 * meanAbsDiff(ours, managed))
          }
        }
      }
    }))

  it.effect("formats [] (or none given): no variants, and the baseline's bytes are the same either way", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("photo-1280x1024-grass-progressive.jpg")
      const none = yield* resizer.resize(bytes, SMALL, { formats: [] })
      const unset = yield* resizer.resize(bytes, SMALL)
      const both = yield* resizer.resize(bytes, SMALL, { formats: BOTH })
      expect(none.variants).toEqual([])
      expect(unset.variants).toEqual([])
      expect(Option.isNone(unset.placeholder)).toBe(true)
      expect(both.variants).toHaveLength(2)
      expect(Buffer.compare(Buffer.from(none.data), Buffer.from(both.data))).toBe(0)
    }))
})

layer(resizerLayer, { timeout: 60_000 })("SharpResizer placeholder", (it) => {
  const FILES = [
    "photo-6028x3391-bird-20mp.jpg",
    "grayscale-2560x1600.jpg",
    "cmyk-500x333-swop-icc.jpg",
    "rgb16-290x442.png",
    "exif-orientation-6.jpg",
    "alpha-2048x1536-rgba.png",
    "photo-246x345.tiff"
  ]
  for (const file of FILES) {
    it.effect(`${file}: the ThumbHash decodes to the rendition's colours and proportions`, () =>
      Effect.gen(function* () {
        const resizer = yield* Resizer
        const out = yield* resizer.resize(fixture(file), SMALL, { placeholder: true })
        const placeholder = placeholderOf(out)
        // Fitted inside 100 × 100, the rendition's aspect ratio (±1 px on the rounded side).
        expect(Math.max(placeholder.width, placeholder.height)).toBe(100)
        const heightError = Math.abs(placeholder.height - (placeholder.width * out.height) / out.width)
        const widthError = Math.abs(placeholder.width - (placeholder.height * out.width) / out.height)
        expect(Math.min(heightError, widthError)).toBeLessThanOrEqual(1)
        const hash = Buffer.from(placeholder.thumbhash, "base64")
        expect(hash.length).toBeGreaterThanOrEqual(5)
        const decoded = thumbHashToRGBA(hash)
        expect(Math.max(decoded.w, decoded.h)).toBeLessThanOrEqual(32)
        const ratio = out.width / out.height
        expect(Math.abs(thumbHashToApproximateAspectRatio(hash) - ratio) / ratio).toBeLessThan(0.15)
        expect(Math.abs(decoded.w / decoded.h - ratio) / ratio).toBeLessThan(0.15)

        const rendition = yield* renditionMean(out)
        expect(maxChannelGap(hashMean(placeholder), rendition)).toBeLessThan(HASH_MEAN_TOLERANCE)
        expect(placeholder.dominantColor).toMatch(/^#[0-9a-f]{6}$/)
        expect(maxChannelGap(hexRgb(placeholder.dominantColor), rendition)).toBeLessThan(4)
      }))
  }

  it.effect("the comparison can fail: another photo's placeholder is far from this rendition", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const yellow = yield* resizer.resize(fixture("exif-orientation-6.jpg"), SMALL, { placeholder: true })
      const blue = yield* resizer.resize(fixture("photo-1024x772.webp"), SMALL, { placeholder: true })
      const gap = maxChannelGap(hashMean(placeholderOf(yellow)), yield* renditionMean(blue))
      expect(gap).toBeGreaterThan(3 * HASH_MEAN_TOLERANCE)
      expect(placeholderOf(yellow).dominantColor).not.toBe(placeholderOf(blue).dominantColor)
    }))

  it.effect("a rendition under 100 px is hashed at its own size, never enlarged", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const out = yield* resizer.resize(fixture("photo-1024x772.webp"), { width: 64, height: 64 }, {
        placeholder: true,
        formats: BOTH
      })
      expect([out.width, out.height]).toEqual([64, 48])
      const placeholder = placeholderOf(out)
      expect([placeholder.width, placeholder.height]).toEqual([64, 48])
      expect(out.variants).toHaveLength(2)
    }))
})

describe("the memory estimate with extras", () => {
  it("counts the raw pixels and the largest encoder: more with AVIF, never less than the baseline", () => {
    const shape = { format: "jpeg" as const, width: 6000, height: 4000, bands: 3, depth: "uchar", inputBytes: 4e6 }
    for (const hasAlpha of [false, true]) {
      const base = estimateResizeBytes({ ...shape, hasAlpha }, { width: 2048, height: 2048 })
      const webp = estimateResizeBytes({ ...shape, hasAlpha }, { width: 2048, height: 2048 }, ["webp"])
      const avif = estimateResizeBytes({ ...shape, hasAlpha }, { width: 2048, height: 2048 }, ["webp", "avif"])
      expect(webp).toBeGreaterThanOrEqual(base)
      expect(avif).toBeGreaterThan(webp)
    }
  })
})

describe("the fake resizer", () => {
  it.effect("makes a fake variant per extra (not the baseline's format) and a placeholder when asked", () =>
    Effect.gen(function* () {
      const fake = makeFakeResizer()
      const opaque = yield* fake.service.resize(fakeImage({ width: 4000, height: 3000 }), SMALL, {
        formats: BOTH,
        placeholder: true
      })
      expect(opaque.variants.map((v) => [v.format, v.contentType])).toEqual([["webp", "image/webp"], [
        "avif",
        "image/avif"
      ]])
      expect(Option.getOrThrow(opaque.placeholder)).toMatchObject({
        dominantColor: FAKE_PLACEHOLDER_COLOR,
        width: 100,
        height: 75
      })
      const alpha = yield* fake.service.resize(fakeImage({ width: 40, height: 30, alpha: true }), SMALL, {
        formats: BOTH
      })
      expect(alpha.variants.map((v) => v.format)).toEqual(["avif"])
      expect(Option.isNone(alpha.placeholder)).toBe(true)
      expect(fake.resized).toEqual([320, 320])
      expect(fake.calls.map((c) => c.placeholder)).toEqual([true, false])
    }))
})
