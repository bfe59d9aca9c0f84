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

/*
 * The Resizer on sharp (libvips).
 *
 * Every call goes through the same gate, `inspect`: a magic-number sniff in plain JS (so bytes that
 * are not one of our six formats never reach a libvips loader, in particular the SVG loader), then
 * sharp's header read (`metadata()`: no pixel decode) for the real format, the HEIF compression, the
 * dimensions and the pixel limit. `resize` runs the gate too (a header read costs well under 1 ms,
 * even on a 20 MP JPEG) because it must refuse bad content on its own and it needs the header to
 * choose the output format before the one decode.
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

// ---- magic numbers ----------------------------------------------------------------------------

/** The loader family the first bytes announce; sharp's header read decides the exact format. */
type Sniffed =
  | { readonly _tag: "Candidate"; readonly family: "jpeg" | "png" | "gif" | "webp" | "tiff" | "heif" }
  | { readonly _tag: "Unsupported"; readonly name: string }
  | { readonly _tag: "Unknown" }

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((byte, i) => bytes[offset + i] === byte)

const ascii = (text: string): ReadonlyArray<number> => Array.from(text, (c) => c.charCodeAt(0))

const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)))

const readUint32BE = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset] ?? 0) * 0x1000000 + ((bytes[offset + 1] ?? 0) << 16)) +
  (((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0))

const readUint16LE = (bytes: Uint8Array, offset: number): number =>
  (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8)

/** ISO-BMFF brands of HEIF still images (AVIF and HEIC alike; the compression tells them apart). */
const HEIF_BRANDS = new Set(["avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2"])

const sniffIsoBmff = (bytes: Uint8Array): Sniffed => {
  const boxSize = Math.min(readUint32BE(bytes, 0), bytes.length, 4096)
  const brands = [latin1(bytes, 8, 12)]
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(latin1(bytes, at, at + 4))
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return { _tag: "Candidate", family: "heif" }
  if (brands.includes("crx ")) return { _tag: "Unsupported", name: "Canon CR3 raw" }
  return { _tag: "Unsupported", name: "ISO media (MP4/MOV/3GP)" }
}

/**
 * Reads the first bytes. Accepted families go on to sharp; formats we know but do not accept get a
 * name (and `unsupported_format`); everything else is `not_an_image` without libvips seeing it.
 */
const sniff = (bytes: Uint8Array): Sniffed => {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { _tag: "Candidate", family: "jpeg" }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { _tag: "Candidate", family: "png" }
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) {
    return { _tag: "Candidate", family: "gif" }
  }
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return { _tag: "Candidate", family: "webp" }
  if (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    // TIFF-based camera raws with their own marker. NEF, DNG, ARW are plain TIFF: libvips reads their
    // first IFD (usually an embedded preview) as an ordinary TIFF, which is harmless.
    if (startsWith(bytes, ascii("CR"), 8)) return { _tag: "Unsupported", name: "Canon CR2 raw" }
    return { _tag: "Candidate", family: "tiff" }
  }
  if (startsWith(bytes, ascii("IIRO")) || startsWith(bytes, ascii("IIRS"))) {
    return { _tag: "Unsupported", name: "Olympus ORF raw" }
  }
  if (startsWith(bytes, [0x49, 0x49, 0x55, 0x00])) return { _tag: "Unsupported", name: "Panasonic RW2 raw" }
  if (startsWith(bytes, ascii("ftyp"), 4)) return sniffIsoBmff(bytes)

  if (startsWith(bytes, ascii("%PDF-"))) return { _tag: "Unsupported", name: "PDF" }
  if (startsWith(bytes, ascii("%!PS"))) return { _tag: "Unsupported", name: "PostScript" }
  if (startsWith(bytes, [0xc5, 0xd0, 0xd3, 0xc6])) return { _tag: "Unsupported", name: "EPS" }
  if (startsWith(bytes, ascii("8BPS"))) return { _tag: "Unsupported", name: "Photoshop PSD" }
  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) {
    return { _tag: "Unsupported", name: "JPEG 2000" }
  }
  if (startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return { _tag: "Unsupported", name: "JPEG 2000" }
  if (
    startsWith(bytes, [0xff, 0x0a]) ||
    startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a])
  ) {
    return { _tag: "Unsupported", name: "JPEG XL" }
  }
  if (startsWith(bytes, ascii("BM")) && [12, 40, 52, 56, 64, 108, 124].includes(readUint16LE(bytes, 14))) {
    return { _tag: "Unsupported", name: "BMP" }
  }
  if ((startsWith(bytes, [0, 0, 1, 0]) || startsWith(bytes, [0, 0, 2, 0])) && readUint16LE(bytes, 4) > 0) {
    return { _tag: "Unsupported", name: "ICO/CUR" }
  }
  if (startsWith(bytes, [0x76, 0x2f, 0x31, 0x01])) return { _tag: "Unsupported", name: "OpenEXR" }
  if (startsWith(bytes, ascii("#?RADIANCE")) || startsWith(bytes, ascii("#?RGBE"))) {
    return { _tag: "Unsupported", name: "Radiance HDR" }
  }
  if (startsWith(bytes, ascii("qoif"))) return { _tag: "Unsupported", name: "QOI" }
  if (startsWith(bytes, ascii("gimp xcf"))) return { _tag: "Unsupported", name: "GIMP XCF" }
  if (startsWith(bytes, ascii("FUJIFILMCCD-RAW"))) return { _tag: "Unsupported", name: "Fujifilm RAF raw" }
  // SVG is text: an XML prolog, comments or a DOCTYPE may come before the root element. libvips'
  // own check looks at the start of the file too; it is refused here because it can carry scripts
  // and external references, and rendering it would hand untrusted XML to librsvg.
  const head = latin1(bytes, 0, 4096)
  if (/<svg[\s>/]|<!doctype\s+svg/i.test(head)) return { _tag: "Unsupported", name: "SVG" }
  return { _tag: "Unknown" }
}

/**
 * libvips' GIF loader always yields RGBA, so `hasAlpha` from the header is true for every GIF.
 * What decides transparency of the first frame is its Graphic Control Extension (transparent-colour
 * flag) and whether that frame covers the whole logical screen (outside it libvips leaves pixels
 * transparent). Anything unparseable counts as transparent: WebP with alpha is always a safe answer.
 */
const gifFirstFrameHasTransparency = (bytes: Uint8Array): boolean => {
  if (bytes.length < 13) return true
  const screenWidth = readUint16LE(bytes, 6)
  const screenHeight = readUint16LE(bytes, 8)
  const screenFlags = bytes[10] ?? 0
  let at = 13 + (screenFlags & 0x80 ? 3 * 2 ** ((screenFlags & 0x07) + 1) : 0)
  let transparent = false
  while (at < bytes.length) {
    const introducer = bytes[at]
    if (introducer === 0x2c) {
      // Image descriptor: left, top, width, height.
      if (at + 9 > bytes.length) return true
      const covers = readUint16LE(bytes, at + 1) === 0 && readUint16LE(bytes, at + 3) === 0 &&
        readUint16LE(bytes, at + 5) >= screenWidth && readUint16LE(bytes, at + 7) >= screenHeight
      return transparent || !covers
    }
    if (introducer !== 0x21) return true
    const label = bytes[at + 1]
    at += 2
    if (label === 0xf9 && bytes[at] === 4) transparent = ((bytes[at + 1] ?? 0) & 0x01) === 1
    // Skip the extension's data sub-blocks up to the zero-length terminator.
    for (let size = bytes[at]; size !== undefined && size !== 0; size = bytes[at]) at += size + 1
    at += 1
  }
  return true
}

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
