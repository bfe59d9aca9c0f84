import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import { Settings, SettingsLive } from "../src/config.js"
import type { RejectionCode } from "../src/domain/errors.js"
import type { SizeBox } from "../src/domain/sizes.js"
import { configureSharp, SharpResizerLive } from "../src/resizer/SharpResizer.js"
import { type ImageInfo, type ResizedImage, Resizer } from "../src/services/Resizer.js"

// Real sharp on real files. Fixtures come from this repository only (see fixtures/images/README.md).

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./fixtures/images/${name}`, import.meta.url)))

/** Settings through the real `Config` path (defaults: sizes 320/1024/2048, 50 MP). */
const settingsLayer = (env: Record<string, string> = {}) =>
  SettingsLive.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

/** `Resizer` on sharp plus the `Settings` it read, so tests can look at the boxes too. */
const resizerLayer = (env: Record<string, string> = {}) => SharpResizerLive.pipe(Layer.provideMerge(settingsLayer(env)))

const withMaxPixels = (maxPixels: number) => Effect.provide(resizerLayer({ IMGPIPE_MAX_PIXELS: String(maxPixels) }))

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const expectRejected = <A, R>(
  effect: Effect.Effect<A, { readonly _tag: "InvalidImage"; readonly code: RejectionCode }, R>,
  code: RejectionCode
) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(effect)
    expect(error._tag).toBe("InvalidImage")
    expect(error.code).toBe(code)
  })

/** Mean absolute difference of two raw buffers of the same shape. */
const meanAbsDiff = (a: Uint8Array, b: Uint8Array): number => {
  expect(a.length).toBe(b.length)
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0))
  return sum / a.length
}

/** RGB pixels of an encoded image squeezed to a fixed size, for comparisons. */
const thumbRgb = (data: Uint8Array | Buffer, width: number, height: number) =>
  promise(() => sharp(data).resize(width, height, { fit: "fill" }).removeAlpha().toColourspace("srgb").raw().toBuffer())

// ---- the accepted fixtures ----------------------------------------------------------------------

interface Accepted {
  readonly file: string
  readonly format: ImageInfo["format"]
  /** Displayed size (after EXIF orientation). */
  readonly width: number
  readonly height: number
  readonly output: "jpeg" | "webp"
  /** Output channels: 1 for greyscale JPEG, 3 for colour JPEG, 4 for WebP with alpha. */
  readonly channels: 1 | 3 | 4
}

const ACCEPTED: ReadonlyArray<Accepted> = [
  { file: "photo-6028x3391-bird-20mp.jpg", format: "jpeg", width: 6028, height: 3391, output: "jpeg", channels: 3 },
  {
    file: "photo-1280x1024-grass-progressive.jpg",
    format: "jpeg",
    width: 1280,
    height: 1024,
    output: "jpeg",
    channels: 3
  },
  { file: "exif-orientation-6.jpg", format: "jpeg", width: 1536, height: 2048, output: "jpeg", channels: 3 },
  { file: "cmyk-500x333-swop-icc.jpg", format: "jpeg", width: 500, height: 333, output: "jpeg", channels: 3 },
  { file: "grayscale-2560x1600.jpg", format: "jpeg", width: 2560, height: 1600, output: "jpeg", channels: 1 },
  { file: "rgb16-290x442.png", format: "png", width: 290, height: 442, output: "jpeg", channels: 3 },
  { file: "alpha-2048x1536-rgba.png", format: "png", width: 2048, height: 1536, output: "webp", channels: 4 },
  {
    file: "photo-3024x4032-iphone-xs-p3.avif",
    format: "avif",
    width: 3024,
    height: 4032,
    output: "jpeg",
    channels: 3
  },
  { file: "photo-246x345.tiff", format: "tiff", width: 246, height: 345, output: "jpeg", channels: 3 },
  { file: "photo-1024x772.webp", format: "webp", width: 1024, height: 772, output: "jpeg", channels: 3 },
  // The first frame has no transparent colour, so it is opaque and becomes a JPEG.
  { file: "animated-370x285-10frames.gif", format: "gif", width: 370, height: 285, output: "jpeg", channels: 3 }
]

const CONTENT_TYPES = { jpeg: "image/jpeg", webp: "image/webp" } as const

/** Everything a rendition must satisfy, checked on the decoded output. */
const checkRendition = (source: Accepted, box: SizeBox, out: ResizedImage) =>
  Effect.gen(function* () {
    // Fits the box, never larger than the source, and as large as both allow on the limiting side.
    expect(out.width).toBeLessThanOrEqual(box.width)
    expect(out.height).toBeLessThanOrEqual(box.height)
    expect(out.width).toBeLessThanOrEqual(source.width)
    expect(out.height).toBeLessThanOrEqual(source.height)
    expect(out.width === Math.min(box.width, source.width) || out.height === Math.min(box.height, source.height))
      .toBe(true)
    // Aspect ratio of the displayed image within ±1 px (on the side that was rounded).
    const heightError = Math.abs(out.height - (out.width * source.height) / source.width)
    const widthError = Math.abs(out.width - (out.height * source.width) / source.height)
    expect(Math.min(heightError, widthError)).toBeLessThanOrEqual(1)

    expect(out.format).toBe(source.output)
    expect(out.contentType).toBe(CONTENT_TYPES[source.output])

    // Really that format, really decodable (strictest fail-on), and as reported.
    const meta = yield* promise(() => sharp(out.data).metadata())
    expect(meta.format).toBe(source.output)
    expect(meta.width).toBe(out.width)
    expect(meta.height).toBe(out.height)
    const decoded = yield* promise(() =>
      sharp(out.data, { failOn: "warning" }).raw().toBuffer({ resolveWithObject: true })
    )
    expect(decoded.info.width).toBe(out.width)
    expect(decoded.info.height).toBe(out.height)

    // 8-bit, no metadata at all: no EXIF (so no orientation left to apply twice), no ICC, XMP, IPTC.
    expect(meta.depth).toBe("uchar")
    expect(meta.exif).toBeUndefined()
    expect(meta.icc).toBeUndefined()
    expect(meta.hasProfile).toBe(false)
    expect(meta.xmp).toBeUndefined()
    expect(meta.iptc).toBeUndefined()
    expect(meta.orientation).toBeUndefined()
    expect(meta.channels).toBe(source.channels)

    if (source.output === "jpeg") {
      expect(meta.isProgressive).toBe(true)
      expect(meta.hasAlpha).toBe(false)
      expect(meta.space).toBe(source.channels === 1 ? "b-w" : "srgb")
    } else {
      expect(meta.hasAlpha).toBe(true)
      expect(meta.space).toBe("srgb")
    }
  })

layer(resizerLayer())("SharpResizer on the accepted fixtures", (it) => {
  for (const source of ACCEPTED) {
    it.effect(`${source.file}: probe reads the header`, () =>
      Effect.gen(function* () {
        const resizer = yield* Resizer
        const info = yield* resizer.probe(fixture(source.file))
        expect(info).toEqual({
          format: source.format,
          contentType: `image/${source.format}`,
          width: source.width,
          height: source.height,
          hasAlpha: source.output === "webp"
        })
      }))

    for (const size of ["small", "medium", "large"] as const) {
      it.effect(`${source.file} → ${size}`, () =>
        Effect.gen(function* () {
          const resizer = yield* Resizer
          const settings = yield* Settings
          const box = settings.sizes[size]
          const out = yield* resizer.resize(fixture(source.file), box)
          yield* checkRendition(source, box, out)
        }))
    }
  }

  // Guards the loop above: the boxes under test are the spec's defaults.
  it.effect("settings give 320/1024/2048", () =>
    Effect.gen(function* () {
      const { sizes } = yield* Settings
      expect([sizes.small, sizes.medium, sizes.large].map((b) => [b.width, b.height])).toEqual([
        [320, 320],
        [1024, 1024],
        [2048, 2048]
      ])
    }))
})

// ---- behaviour in detail -------------------------------------------------------------------------

layer(resizerLayer())("SharpResizer", (it) => {
  it.effect("exif-orientation-6.jpg comes out the right way up", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("exif-orientation-6.jpg")
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      expect([out.width, out.height]).toEqual([240, 320])

      // References made independently of `autoOrient`: the stored (landscape) pixels, rotated by hand.
      const stored = yield* promise(() => sharp(bytes).raw().toBuffer({ resolveWithObject: true }))
      expect([stored.info.width, stored.info.height]).toEqual([2048, 1536])
      const rotated = (angle: number) =>
        promise(() =>
          sharp(stored.data, { raw: stored.info }).rotate(angle).resize(60, 80, { fit: "fill" }).raw().toBuffer()
        )
      const clockwise = yield* rotated(90)
      const anticlockwise = yield* rotated(270)
      const unrotated = yield* promise(() =>
        sharp(stored.data, { raw: stored.info }).resize(60, 80, { fit: "fill" }).raw().toBuffer()
      )
      const ours = yield* thumbRgb(out.data, 60, 80)

      const right = meanAbsDiff(ours, clockwise)
      expect(right).toBeLessThan(6)
      // The comparison can fail: the wrong rotation and no rotation are far off.
      expect(meanAbsDiff(ours, anticlockwise)).toBeGreaterThan(5 * right + 15)
      expect(meanAbsDiff(ours, unrotated)).toBeGreaterThan(5 * right + 15)
    }))

  it.effect("applies the box to the displayed (rotated) dimensions", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      // Displayed 1536×2048 (portrait): a wide, low box limits the height.
      const out = yield* resizer.resize(fixture("exif-orientation-6.jpg"), { width: 400, height: 200 })
      expect([out.width, out.height]).toEqual([150, 200])
    }))

  it.effect("CMYK becomes 3-channel sRGB", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("cmyk-500x333-swop-icc.jpg")
      const input = yield* promise(() => sharp(bytes).metadata())
      expect([input.space, input.channels]).toEqual(["cmyk", 4])
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      const meta = yield* promise(() => sharp(out.data).metadata())
      expect([meta.space, meta.channels, meta.hasProfile]).toEqual(["srgb", 3, false])
    }))

  it.effect("an ICC profile (Display P3) is converted to sRGB, not just dropped", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("photo-3024x4032-iphone-xs-p3.avif")
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      const ours = yield* thumbRgb(out.data, 60, 80)
      // P3 numbers read as if they were sRGB (profile ignored) vs colour-managed.
      const profileIgnored = yield* promise(() =>
        sharp(bytes, { ignoreIcc: true }).resize(60, 80, { fit: "fill" }).raw().toBuffer()
      )
      const managed = yield* promise(() => sharp(bytes).resize(60, 80, { fit: "fill" }).raw().toBuffer())
      expect(meanAbsDiff(ours, profileIgnored)).toBeGreaterThan(2 * meanAbsDiff(ours, managed))
    }))

  it.effect("16-bit PNG becomes 8-bit", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("rgb16-290x442.png")
      expect((yield* promise(() => sharp(bytes).metadata())).depth).toBe("ushort")
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      expect((yield* promise(() => sharp(out.data).metadata())).depth).toBe("uchar")
    }))

  it.effect("animated GIF: first frame only (one page high)", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("animated-370x285-10frames.gif")
      expect((yield* promise(() => sharp(bytes).metadata())).pages).toBe(10)
      const full = yield* resizer.resize(bytes, { width: 1024, height: 1024 })
      expect([full.width, full.height]).toEqual([370, 285])
      const small = yield* resizer.resize(bytes, { width: 320, height: 320 })
      expect([small.width, small.height]).toEqual([320, 246])
    }))

  it.effect("animated WebP: first frame only", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      // Three 40×30 frames: red, green, blue.
      const [w, h, frames] = [40, 30, 3]
      const raw = Buffer.alloc(w * h * frames * 3)
      for (let i = 0; i < w * h * frames; i++) raw[i * 3 + Math.floor(i / (w * h))] = 255
      const bytes = yield* promise(() =>
        sharp(raw, { raw: { width: w, height: h * frames, channels: 3, pageHeight: h } }).webp({ quality: 90 })
          .toBuffer()
      )
      expect((yield* promise(() => sharp(bytes).metadata())).pages).toBe(frames)
      expect(yield* resizer.probe(bytes)).toMatchObject({ format: "webp", width: 40, height: 30 })
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      expect([out.format, out.width, out.height]).toEqual(["jpeg", 40, 30])
      const { channels } = yield* promise(() => sharp(out.data).stats())
      expect(channels[0]?.mean).toBeGreaterThan(200)
      expect(channels[1]?.mean).toBeLessThan(50)
      expect(channels[2]?.mean).toBeLessThan(50)
    }))

  it.effect("GIF with a transparent colour → WebP with alpha", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const raw = Buffer.alloc(32 * 32 * 4)
      for (let i = 0; i < 32 * 32; i++) if (i % 32 >= 16) raw.fill(200, i * 4, i * 4 + 4).writeUInt8(255, i * 4 + 3)
      const bytes = yield* promise(() => sharp(raw, { raw: { width: 32, height: 32, channels: 4 } }).gif().toBuffer())
      expect((yield* resizer.probe(bytes)).hasAlpha).toBe(true)
      const out = yield* resizer.resize(bytes, { width: 320, height: 320 })
      expect(out.format).toBe("webp")
      expect((yield* promise(() => sharp(out.data).metadata())).hasAlpha).toBe(true)
    }))

  it.effect("alpha is resized premultiplied: no dark fringe where transparent meets opaque", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      // Left part transparent black, right part opaque white; the edge falls inside an output pixel.
      const [w, h] = [64, 64]
      const raw = Buffer.alloc(w * h * 4)
      for (let y = 0; y < h; y++) raw.fill(255, (y * w + 29) * 4, (y * w + w) * 4)
      const bytes = yield* promise(() => sharp(raw, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer())
      const out = yield* resizer.resize(bytes, { width: 7, height: 7 })
      expect(out.format).toBe("webp")
      const px = yield* promise(() => sharp(out.data).raw().toBuffer({ resolveWithObject: true }))
      expect(px.info.channels).toBe(4)
      const edge: Array<number> = []
      for (let i = 0; i < px.info.width * px.info.height; i++) {
        const alpha = px.data[i * 4 + 3] ?? 0
        if (alpha > 16 && alpha < 240) edge.push(...px.data.subarray(i * 4, i * 4 + 3))
      }
      expect(edge.length).toBeGreaterThan(0)
      expect(Math.min(...edge)).toBeGreaterThanOrEqual(235)

      // What resizing the colour channels without premultiplying gives at the same edge (the RGB
      // bands alone, transparent pixels black): visibly grey, so the check above can fail.
      const rgb = Buffer.alloc(w * h * 3)
      for (let i = 0; i < w * h; i++) raw.copy(rgb, i * 3, i * 4, i * 4 + 3)
      const naive = yield* promise(() =>
        sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).resize(7, 7, { fit: "fill" }).raw().toBuffer()
      )
      expect(naive[3 * 3]).toBeLessThan(220)
    }))

  it.effect("probe is header only: truncated.jpg probes fine, resize refuses it as corrupt", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = fixture("truncated.jpg")
      expect(yield* resizer.probe(bytes)).toEqual({
        format: "jpeg",
        contentType: "image/jpeg",
        width: 2725,
        height: 2225,
        hasAlpha: false
      })
      for (const box of [{ width: 320, height: 320 }, { width: 2048, height: 2048 }]) {
        yield* expectRejected(resizer.resize(bytes, box), "corrupt_image")
      }
    }))

  it.effect("refuses empty, non-image, HEIC, SVG and PDF with the right codes", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const box = { width: 320, height: 320 }
      const cases: ReadonlyArray<readonly [string, Uint8Array, RejectionCode]> = [
        ["empty", fixture("empty.jpg"), "empty_file"],
        ["empty array", new Uint8Array(0), "empty_file"],
        ["text", fixture("not-an-image-text.jpg"), "not_an_image"],
        ["random bytes", Uint8Array.from({ length: 512 }, (_, i) => (i * 97 + 13) % 251), "not_an_image"],
        ["JPEG magic, then garbage", Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6]), "corrupt_image"],
        ["HEIC", fixture("photo-2566x3313-iphone11-p3.heic"), "unsupported_format"],
        [
          "SVG",
          new TextEncoder().encode(
            `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>`
          ),
          "unsupported_format"
        ],
        [
          "SVG with prolog",
          new TextEncoder().encode(
            `\uFEFF<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg width="10" height="10" xmlns="http://www.w3.org/2000/svg"/>`
          ),
          "unsupported_format"
        ],
        ["PDF", new TextEncoder().encode("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"), "unsupported_format"]
      ]
      for (const [name, bytes, code] of cases) {
        yield* expectRejected(resizer.probe(bytes), code).pipe(Effect.withSpan(`probe ${name}`))
        yield* expectRejected(resizer.resize(bytes, box), code).pipe(Effect.withSpan(`resize ${name}`))
      }
    }))
})

// ---- pixel limit ---------------------------------------------------------------------------------

describe("SharpResizer pixel limit", () => {
  // A 10000×6000 solid colour PNG: 60 MP, over the default 50 MP limit, yet under 2 MB.
  const hugePng = () =>
    sharp({ create: { width: 10_000, height: 6_000, channels: 3, background: "#336699" } })
      .png({ compressionLevel: 1 })
      .toBuffer()

  it.effect("too_many_pixels from the header, before any decode", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bytes = new Uint8Array(yield* promise(hugePng))
      yield* expectRejected(resizer.probe(bytes), "too_many_pixels")
      // Only the first 2 KB (signature and IHDR, no pixel data): still too_many_pixels rather
      // than corrupt, so the answer came from the header alone.
      yield* expectRejected(resizer.probe(bytes.subarray(0, 2048)), "too_many_pixels")
      yield* expectRejected(resizer.resize(bytes, { width: 320, height: 320 }), "too_many_pixels")
    }).pipe(Effect.provide(resizerLayer())))

  it.effect("the limit comes from Settings (IMGPIPE_MAX_PIXELS)", () =>
    Effect.gen(function* () {
      const resizer = yield* Resizer
      const bird = fixture("photo-6028x3391-bird-20mp.jpg")
      yield* expectRejected(resizer.probe(bird), "too_many_pixels")
      yield* expectRejected(resizer.resize(bird, { width: 320, height: 320 }), "too_many_pixels")
    }).pipe(withMaxPixels(10_000_000)))

  it.effect("an animated GIF counts one frame, not all ten", () =>
    Effect.gen(function* () {
      const bytes = fixture("animated-370x285-10frames.gif")
      const onePage = 370 * 285
      const fits = yield* Effect.flatMap(Resizer, (r) => r.resize(bytes, { width: 320, height: 320 })).pipe(
        withMaxPixels(onePage)
      )
      expect(fits.height).toBe(246)
      yield* expectRejected(Effect.flatMap(Resizer, (r) => r.probe(bytes)), "too_many_pixels").pipe(
        withMaxPixels(onePage - 1)
      )
    }))
})

// ---- process-wide settings -----------------------------------------------------------------------

describe("configureSharp", () => {
  it.effect("sets libvips threads per image from IMGPIPE_SHARP_CONCURRENCY and turns the cache off", () =>
    Effect.gen(function* () {
      const before = sharp.concurrency()
      yield* configureSharp.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["IMGPIPE_SHARP_CONCURRENCY", "2"]])))
      )
      expect(sharp.concurrency()).toBe(2)
      expect(sharp.cache().items.max).toBe(0)
      sharp.concurrency(before)

      // Unset: sharp's default stays.
      yield* configureSharp.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      expect(sharp.concurrency()).toBe(before)

      const bad = yield* Effect.flip(
        configureSharp.pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["IMGPIPE_SHARP_CONCURRENCY", "-1"]])))
        )
      )
      expect(String(bad)).toContain("IMGPIPE_SHARP_CONCURRENCY")
    }))
})
