import { Config, type ConfigError, type Context, Effect, Layer, Option } from "effect"
import sharp from "sharp"
import type { JpegOptions, Metadata, SharpOptions, WebpOptions } from "sharp"
import { InvalidImage, type RejectionCode } from "../domain/errors.js"
import { CONTENT_TYPE_OF_FORMAT, type InputFormat, OUTPUT_CONTENT_TYPES } from "../domain/formats.js"
import type { SizeBox } from "../domain/sizes.js"
import { Settings } from "../config.js"
import { type ImageInfo, Resizer, type ResizedImage } from "../services/Resizer.js"
import { type DecodeBudgetService, DecodeMemoryBudget, DecodeMemoryBudgetLive, MIB } from "./memoryBudget.js"
import { estimateResizeBytes } from "./memoryEstimate.js"
import { gifFirstFrameHasTransparency, sniff } from "./sniff.js"

/*
 * The Resizer on sharp (libvips).
 *
 * Every call goes through the same gate, `inspect`: a magic-number sniff in plain JS (so bytes that
 * are not one of our six formats never reach a libvips loader, in particular the SVG loader), then
 * sharp's header read (`metadata()`: no pixel decode) for the real format, the HEIF compression, the
 * dimensions and the pixel limit. `resize` runs the gate too (a header read costs well under 1 ms,
 * even on a 20 MP JPEG) because it must refuse bad content on its own and it needs the header to
 * choose the output format before the one decode. The decode itself runs inside the process's
 * memory budget (memoryBudget.ts), sized from the header by memoryEstimate.ts.
 */

type Service = Context.Tag.Service<Resizer>

// ---- output encoding --------------------------------------------------------------------------

/**
 * Progressive JPEG at quality 80 with mozjpeg's trellis quantisation, overshoot deringing and its
 * quantisation table 3. Measured on the fixtures: about 15–25 % fewer bytes than plain libjpeg at
 * the same quality setting for 10–30 % more encode time. Renditions are written once and served
 * many times, so bytes win. `optimiseScans` (the rest of `mozjpeg: true`) is left off: it encodes
 * the image several times to pick a scan script, for 2–5 % more saving at a visible CPU cost at
 * 10M images a day. 80 is the usual web setting: no visible blocking on photos at these sizes.
 */
export const JPEG_OPTIONS: JpegOptions = {
  quality: 80,
  progressive: true,
  optimiseCoding: true,
  trellisQuantisation: true,
  overshootDeringing: true,
  quantisationTable: 3,
  chromaSubsampling: "4:2:0"
}

/**
 * Lossy WebP for images with transparency: far smaller than lossless for photos and artwork with
 * soft edges; the alpha plane stays lossless (`alphaQuality: 100`) so edges and cut-outs keep their
 * shape. `effort: 4` is libwebp's default speed/size balance.
 */
export const WEBP_OPTIONS: WebpOptions = { quality: 80, alphaQuality: 100, effort: 4 }

// ---- input options ----------------------------------------------------------------------------

/**
 * Decode options shared by the header read and the decode.
 *
 * - `failOn: "error"`: refuse truncated files (libjpeg's "premature end" becomes an error from the
 *   `truncated` level up) and data the decoder reports as broken, but not mere warnings. sharp's
 *   default, `warning`, also fails on warnings such as libjpeg's "extraneous bytes before marker"
 *   that many camera and phone JPEGs trigger and that every browser shows fine; at 10M uploads a day
 *   that would refuse real photos. All the real photo fixtures pass at this level, the truncated
 *   one is refused.
 * - `pages: 1, page: 0`: the first frame of an animated GIF/WebP (and the first page of a TIFF).
 * - `sequentialRead`: top-to-bottom streaming decode; with the resize directly after the load
 *   libvips can use JPEG shrink-on-load (DCT scaling) and WebP scale-on-load, so a 20 MP JPEG is
 *   decoded at 1/2–1/8 size and never held whole in memory.
 */
const baseInputOptions = {
  failOn: "error",
  sequentialRead: true,
  pages: 1,
  page: 0
} as const satisfies SharpOptions

// ---- errors -----------------------------------------------------------------------------------

const invalid = (code: RejectionCode, message: string) => new InvalidImage({ code, message })

const errorText = (error: unknown): string => {
  const raw = error instanceof Error ? error.message : String(error)
  // libvips stacks one line per layer; the last line names the real cause. Keep the record short.
  const lines = raw.split("\n").map((line) => line.trim()).filter((line) => line.length > 0)
  const text = lines.at(-1) ?? raw
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** Maps whatever sharp rejected with to a rejection code; never lets an exception escape. */
const fromSharpError = (error: unknown): InvalidImage => {
  const text = errorText(error)
  if (/buffer is empty/i.test(text)) return invalid("empty_file", "The file is empty")
  if (/exceeds pixel limit/i.test(text)) return invalid("too_many_pixels", `The image has too many pixels (${text})`)
  if (/unsupported image format/i.test(text)) return invalid("not_an_image", "The file is not a recognised image")
  if (/compression format has not been built in|no decoding plugin|unsupported codec/i.test(text)) {
    return invalid("unsupported_format", `The image's compression is not supported (${text})`)
  }
  // Only bytes that start like one of our formats reach sharp, so any other failure is that file's
  // own data: a header or pixels that are truncated or broken where the decoder cannot go on.
  return invalid("corrupt_image", `The image data is corrupt or truncated (${text})`)
}

// ---- inspection -------------------------------------------------------------------------------

interface Inspected {
  readonly info: ImageInfo
  readonly metadata: Metadata
}

const formatOf = (metadata: Metadata): Effect.Effect<InputFormat, InvalidImage> => {
  switch (metadata.format) {
    case "jpeg":
    case "png":
    case "webp":
    case "gif":
    case "tiff":
      return Effect.succeed(metadata.format)
    case "heif":
      // AVIF and HEIC share the HEIF container; sharp's prebuilt libheif has an AV1 decoder only.
      return metadata.compression === "av1"
        ? Effect.succeed("avif")
        : Effect.fail(invalid(
          "unsupported_format",
          `HEIF images with ${metadata.compression ?? "unknown"} compression (HEIC) are not supported; upload JPEG, PNG, WebP, GIF, AVIF or TIFF`
        ))
    default:
      return Effect.fail(invalid("unsupported_format", `The ${metadata.format} format is not supported`))
  }
}

const inspect = (bytes: Uint8Array, maxPixels: number): Effect.Effect<Inspected, InvalidImage> =>
  Effect.gen(function*() {
    if (bytes.byteLength === 0) return yield* invalid("empty_file", "The file is empty")
    const sniffed = sniff(bytes)
    if (sniffed._tag === "Unsupported") {
      return yield* invalid(
        "unsupported_format",
        `${sniffed.name} is not supported; upload JPEG, PNG, WebP, GIF, AVIF or TIFF`
      )
    }
    if (sniffed._tag === "Unknown") return yield* invalid("not_an_image", "The file is not a recognised image")

    // Header only. The pixel limit is checked below, from these numbers, so the header read itself
    // must not stop at sharp's own (larger) default limit with a vaguer error.
    const metadata = yield* Effect.tryPromise({
      try: () => sharp(bytes, { ...baseInputOptions, limitInputPixels: false }).metadata(),
      catch: fromSharpError
    })
    const format = yield* formatOf(metadata)

    // With `pages: 1` the header describes the first page; `pageHeight` guards a loader that
    // reports the whole strip of frames.
    const pageHeight = Math.min(metadata.height, metadata.pageHeight ?? metadata.height)
    if (!(metadata.width > 0 && pageHeight > 0)) {
      return yield* invalid("corrupt_image", "The image header has no valid dimensions")
    }
    const pixels = metadata.width * pageHeight
    if (pixels > maxPixels) {
      return yield* invalid(
        "too_many_pixels",
        `The image is ${metadata.width}×${pageHeight} (${pixels} pixels); the limit is ${maxPixels}`
      )
    }

    const hasAlpha = format === "gif" ? gifFirstFrameHasTransparency(bytes) : metadata.hasAlpha
    // `autoOrient` holds the dimensions after EXIF orientation (5–8 swap width and height), the
    // same rule `resize` applies. Only a loader that reported the whole strip of frames needs the
    // first page's height put back in.
    const swapped = metadata.autoOrient.width !== metadata.width
    const { width, height } = pageHeight === metadata.height
      ? metadata.autoOrient
      : swapped
      ? { width: pageHeight, height: metadata.width }
      : { width: metadata.width, height: pageHeight }
    const info: ImageInfo = { format, contentType: CONTENT_TYPE_OF_FORMAT[format], width, height, hasAlpha }
    return { info, metadata }
  })

// ---- resize -----------------------------------------------------------------------------------

const isGrey = (metadata: Metadata): boolean => metadata.space === "b-w" || metadata.space === "grey16"

const render = (
  bytes: Uint8Array,
  box: SizeBox,
  inspected: Inspected,
  maxPixels: number
): Promise<ResizedImage> => {
  const { info, metadata } = inspected
  const pipeline = sharp(bytes, {
    ...baseInputOptions,
    // Second guard after the header check: libvips refuses to start a larger decode.
    limitInputPixels: maxPixels,
    // EXIF orientation first, so the box applies to the displayed image; sharp folds the rotation
    // into its plan and still shrinks on load.
    autoOrient: true
  })
    // Directly after the load so that shrink-on-load applies. `inside` keeps the aspect ratio;
    // never upscale. Resizing happens on premultiplied alpha (sharp's default), so transparent
    // pixels do not bleed dark fringes into their neighbours.
    .resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
  // No `withMetadata`/`keepIccProfile`/`keepExif`: sharp then converts from the embedded ICC
  // profile (CMYK, Display P3, …) to sRGB, reduces 16-bit to 8-bit, and writes no EXIF, XMP, IPTC
  // or ICC. Untagged output is read as sRGB everywhere, which is what it is.

  if (info.hasAlpha) {
    return pipeline.webp(WEBP_OPTIONS).toBuffer({ resolveWithObject: true }).then(({ data, info: out }) => ({
      data,
      format: "webp",
      contentType: OUTPUT_CONTENT_TYPES.webp,
      width: out.width,
      height: out.height
    }))
  }
  // Grey input stays a one-component JPEG (plain JFIF greyscale, decoded by every browser and OS):
  // measured about 30 % less encode time and 5 % fewer bytes than a three-channel sRGB copy of
  // identical pixels. Colour input goes out as three-channel sRGB. `removeAlpha` only matters for
  // opaque GIFs, which libvips loads with an all-opaque alpha band.
  const opaque = pipeline.removeAlpha()
  const shaped = isGrey(metadata) ? opaque.toColourspace("b-w") : opaque
  return shaped.jpeg(JPEG_OPTIONS).toBuffer({ resolveWithObject: true }).then(({ data, info: out }) => ({
    data,
    format: "jpeg",
    contentType: OUTPUT_CONTENT_TYPES.jpeg,
    width: out.width,
    height: out.height
  }))
}

/** What resizing this image into `box` will hold at its peak, from the header alone. */
const estimateOf = (bytes: Uint8Array, { info, metadata }: Inspected, box: SizeBox): number =>
  estimateResizeBytes({
    format: info.format,
    width: info.width,
    height: info.height,
    bands: metadata.channels,
    depth: metadata.depth,
    hasAlpha: info.hasAlpha,
    inputBytes: bytes.byteLength
  }, box)

/** The estimate the budget uses for resizing `bytes` into `box` (for the bench and the tests). */
export const estimateResizeMemory = (
  bytes: Uint8Array,
  box: SizeBox,
  maxPixels: number
): Effect.Effect<number, InvalidImage> => Effect.map(inspect(bytes, maxPixels), (inspected) => estimateOf(bytes, inspected, box))

/**
 * The one decode, inside the memory budget: it waits until its estimate fits beside the decodes
 * running now, and an image whose estimate exceeds the whole budget is refused before any pixel
 * is decoded (retrying could never help: it is permanent, like the pixel limit).
 */
const renderWithinBudget = (
  bytes: Uint8Array,
  box: SizeBox,
  inspected: Inspected,
  maxPixels: number,
  budget: DecodeBudgetService
): Effect.Effect<ResizedImage, InvalidImage> => {
  const estimateMib = Math.ceil(estimateOf(bytes, inspected, box) / MIB)
  const { info } = inspected
  if (estimateMib > budget.capacityMib) {
    return Effect.fail(invalid(
      "too_large_to_decode",
      `The ${info.format.toUpperCase()} image (${info.width}×${info.height}) would need about ${estimateMib} MiB to ` +
        `decode, more than the ${budget.capacityMib} MiB a worker has for it; send fewer pixels, or a format that ` +
        `decodes in less memory (JPEG, WebP, PNG)`
    ))
  }
  return Effect.annotateCurrentSpan("estimate_mib", estimateMib).pipe(Effect.zipRight(budget.withReservation(estimateMib)(
    // sharp runs the decode and encode on libuv's thread pool; the fiber only waits for the
    // promise. Sync throws (bad options) are caught by `tryPromise` as well.
    Effect.tryPromise({ try: () => render(bytes, box, inspected, maxPixels), catch: fromSharpError })
  )))
}

/** The Resizer for a given pixel limit and decode memory budget. */
export const makeSharpResizer = (options: {
  readonly maxPixels: number
  readonly budget: DecodeBudgetService
}): Service => {
  const { budget, maxPixels } = options
  return {
    probe: (bytes) =>
      inspect(bytes, maxPixels).pipe(
        Effect.map(({ info }) => info),
        Effect.withSpan("Resizer.probe", { attributes: { bytes: bytes.byteLength } })
      ),
    resize: (bytes, box) =>
      inspect(bytes, maxPixels).pipe(
        Effect.flatMap((inspected) => renderWithinBudget(bytes, box, inspected, maxPixels, budget)),
        Effect.withSpan("Resizer.resize", {
          attributes: { bytes: bytes.byteLength, boxWidth: box.width, boxHeight: box.height }
        })
      )
  }
}

/** `Resizer` on sharp with a given budget (tests share one to watch it). */
export const SharpResizerWithBudget: Layer.Layer<Resizer, never, Settings | DecodeMemoryBudget> = Layer.effect(
  Resizer,
  Effect.gen(function*() {
    const settings = yield* Settings
    const budget = yield* DecodeMemoryBudget
    return makeSharpResizer({ maxPixels: settings.maxPixels, budget })
  })
)

/**
 * `Resizer` on sharp, with the pixel limit from `Settings` and the process's decode memory budget
 * (`IMGPIPE_DECODE_MEMORY_BUDGET_MB`). A runtime builds it once, so all its workers share the one
 * budget.
 */
export const SharpResizerLive: Layer.Layer<Resizer, ConfigError.ConfigError, Settings> = SharpResizerWithBudget.pipe(
  Layer.provide(DecodeMemoryBudgetLive)
)

// ---- process-wide sharp settings --------------------------------------------------------------

/**
 * `IMGPIPE_SHARP_CONCURRENCY`: libvips threads per image (0 = one per core). Unset keeps sharp's
 * default, which is 1 on glibc Linux (Lambda, `node:22`) to limit memory fragmentation. How many
 * images run at once is libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4) times this.
 */
export const sharpConcurrencyConfig: Config.Config<Option.Option<number>> = Config.option(
  Config.integer("IMGPIPE_SHARP_CONCURRENCY").pipe(
    Config.validate({
      message: "IMGPIPE_SHARP_CONCURRENCY must be a non-negative integer",
      validation: (n) => n >= 0
    })
  )
)

/**
 * Sets sharp's process-wide knobs; call once when a runtime starts. Also turns off libvips'
 * operation cache: every upload is a different image, so cached operations are never reused and
 * only hold memory (up to 50 MB by default).
 */
export const configureSharp: Effect.Effect<void, ConfigError.ConfigError> = Effect.gen(function*() {
  const concurrency = yield* sharpConcurrencyConfig
  yield* Effect.sync(() => {
    sharp.cache(false)
    if (Option.isSome(concurrency)) sharp.concurrency(concurrency.value)
  })
  yield* Effect.annotateLogs(Effect.logDebug("sharp configured"), {
    concurrency: sharp.concurrency(),
    vips: sharp.versions.vips
  })
})

/** `configureSharp` as a layer, for a runtime's `layers.ts`. */
export const SharpConfigLive: Layer.Layer<never, ConfigError.ConfigError> = Layer.effectDiscard(configureSharp)
