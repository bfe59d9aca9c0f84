import { Effect, Option } from "effect"
import { rgbaToThumbHash } from "thumbhash"
import { InvalidImage } from "../domain/errors.js"
import {
  CONTENT_TYPE_OF_FORMAT,
  type ExtraFormat,
  INPUT_FORMATS,
  type InputFormat,
  OUTPUT_CONTENT_TYPES,
  type OutputFormat
} from "../domain/formats.js"
import type { Placeholder } from "../domain/image.js"
import { Resizer } from "../services/Resizer.js"

/**
 * The fake "image" format the fake resizer decodes: one text line,
 * `IMGPIPE-FAKE <format> <width>x<height> <opaque|alpha>`. Deterministic and instant, so use-case
 * tests need neither sharp nor image files.
 */
const MAGIC = "IMGPIPE-FAKE"

export interface FakeImage {
  /** Any string: an accepted input format, or e.g. `heic` to be refused as unsupported. */
  readonly format?: string
  readonly width: number
  readonly height: number
  readonly alpha?: boolean
}

/** The bytes of a fake image the fake resizer accepts (or refuses, as its header says). */
export const fakeImage = (image: FakeImage): Uint8Array =>
  new TextEncoder().encode(
    `${MAGIC} ${image.format ?? "jpeg"} ${image.width}x${image.height} ${image.alpha === true ? "alpha" : "opaque"}\n`
  )

/**
 * A fake encoding: the `fakeImage` line padded with trailing spaces (which the parser trims) so
 * that, as with the real encoders, AVIF < WebP < JPEG in bytes and `worthStoring` keeps the extras.
 */
const FAKE_PADDING: Readonly<Record<OutputFormat, number>> = { jpeg: 24, webp: 12, avif: 0 }
export const fakeEncoding = (format: OutputFormat, image: Omit<FakeImage, "format">): Uint8Array =>
  new TextEncoder().encode(new TextDecoder().decode(fakeImage({ ...image, format })) + " ".repeat(FAKE_PADDING[format]))

const isInputFormat = (format: string): format is InputFormat =>
  (INPUT_FORMATS as ReadonlyArray<string>).includes(format)

/** The fake placeholder's colour: every fake image is this flat grey. */
export const FAKE_PLACEHOLDER_COLOR = "#808080"

/**
 * A deterministic placeholder for a `width`×`height` rendition: a real ThumbHash (so clients can
 * decode it) of a flat `FAKE_PLACEHOLDER_COLOR` image fitted inside 100 × 100.
 */
export const fakePlaceholder = (width: number, height: number): Placeholder => {
  const scale = Math.min(1, 100 / width, 100 / height)
  const w = Math.max(1, Math.round(width * scale))
  const h = Math.max(1, Math.round(height * scale))
  const rgba = new Uint8Array(w * h * 4).fill(0x80)
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255
  return {
    thumbhash: Buffer.from(rgbaToThumbHash(w, h, rgba)).toString("base64"),
    dominantColor: FAKE_PLACEHOLDER_COLOR,
    width: w,
    height: h
  }
}

/** One `resize` call the fake saw: the box width and the options asked. */
export interface FakeResizeCall {
  readonly width: number
  readonly formats: ReadonlyArray<ExtraFormat>
  readonly placeholder: boolean
}

const refuse = (code: InvalidImage["code"], message: string) => Effect.fail(new InvalidImage({ code, message }))

/**
 * `Resizer` over `fakeImage` bytes, following the real one's rules: empty → `empty_file`, no
 * header → `not_an_image`, a format not accepted → `unsupported_format`, over `maxPixels` →
 * `too_many_pixels`; `resize` fits the box without enlarging and "encodes" WebP for alpha, JPEG
 * otherwise (the output is a `fakeImage` line too), plus one fake variant (a `fakeImage` line in that
 * format) per extra format asked, leaving out the baseline's own format, and `fakePlaceholder` when
 * asked. `resized` counts the resizes, per box width; `calls` records each call's options.
 */
export const makeFakeResizer = (options: { readonly maxPixels?: number } = {}) => {
  const maxPixels = options.maxPixels ?? 50_000_000
  const resized: Array<number> = []
  const calls: Array<FakeResizeCall> = []

  const probe = (bytes: Uint8Array) =>
    Effect.suspend(() => {
      if (bytes.byteLength === 0) return refuse("empty_file", "The file is empty.")
      const [magic, format = "", dimensions = "", alpha] = new TextDecoder().decode(bytes).trim().split(" ")
      const [width, height] = dimensions.split("x").map(Number)
      if (magic !== MAGIC || width === undefined || height === undefined || !(width > 0 && height > 0)) {
        return refuse("not_an_image", "The file is not an image.")
      }
      if (!isInputFormat(format)) return refuse("unsupported_format", `${format} images are not accepted.`)
      if (width * height > maxPixels) {
        return refuse("too_many_pixels", `The image has ${width * height} pixels, over the limit of ${maxPixels}.`)
      }
      return Effect.succeed({
        format,
        contentType: CONTENT_TYPE_OF_FORMAT[format],
        width,
        height,
        hasAlpha: alpha === "alpha"
      })
    })

  const service = Resizer.of({
    probe,
    resize: (bytes, box, options = {}) =>
      Effect.map(probe(bytes), (info) => {
        const scale = Math.min(1, box.width / info.width, box.height / info.height)
        const width = Math.max(1, Math.round(info.width * scale))
        const height = Math.max(1, Math.round(info.height * scale))
        const format = info.hasAlpha ? "webp" as const : "jpeg" as const
        const formats = options.formats ?? []
        const placeholder = options.placeholder === true
        resized.push(box.width)
        calls.push({ width: box.width, formats, placeholder })
        return {
          data: fakeEncoding(format, { width, height, alpha: info.hasAlpha }),
          format,
          contentType: OUTPUT_CONTENT_TYPES[format],
          width,
          height,
          variants: formats.filter((extra) => extra !== format).map((extra) => ({
            format: extra,
            data: fakeEncoding(extra, { width, height, alpha: info.hasAlpha }),
            contentType: OUTPUT_CONTENT_TYPES[extra]
          })),
          placeholder: placeholder ? Option.some(fakePlaceholder(width, height)) : Option.none()
        }
      })
  })

  return { service, resized, calls }
}

export type FakeResizer = ReturnType<typeof makeFakeResizer>
