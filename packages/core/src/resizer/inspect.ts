/*
 * The gate every call goes through: a magic-number sniff in plain JS (so bytes that are not one of
 * our six formats never reach a libvips loader, in particular the SVG loader), then sharp's header
 * read (`metadata()`: no pixel decode) for the real format, the HEIF compression, the dimensions and
 * the pixel limit.
 */
import { Effect } from "effect"
import sharp from "sharp"
import type { Metadata, SharpOptions } from "sharp"
import type { InvalidImage } from "../domain/errors.js"
import { CONTENT_TYPE_OF_FORMAT, type InputFormat } from "../domain/formats.js"
import type { ImageInfo } from "../services/Resizer.js"
import { fromSharpError, invalid } from "./sharpErrors.js"
import { gifFirstFrameHasTransparency, sniff } from "./sniff.js"

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
export const baseInputOptions = {
  failOn: "error",
  sequentialRead: true,
  pages: 1,
  page: 0
} as const satisfies SharpOptions

export interface Inspected {
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
          `HEIF images with ${
            metadata.compression ?? "unknown"
          } compression (HEIC) are not supported; upload JPEG, PNG, WebP, GIF, AVIF or TIFF`
        ))
    default:
      return Effect.fail(invalid("unsupported_format", `The ${metadata.format} format is not supported`))
  }
}

export const inspect = (bytes: Uint8Array, maxPixels: number): Effect.Effect<Inspected, InvalidImage> =>
  Effect.gen(function* () {
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
