/*
 * How renditions are encoded, all from the same resized 8-bit pixels (`Pixels`, made once by
 * SharpResizer): the baseline (opaque images as progressive JPEG, grey staying one-component;
 * images with alpha as WebP with alpha) and the extras `IMGPIPE_FORMATS` asks for (WebP, AVIF).
 * The settings are measured choices; the bench (packages/bench) compares against them.
 */
import type { AvifOptions, JpegOptions, WebpOptions } from "sharp"
import sharp from "sharp"
import { type ExtraFormat, OUTPUT_CONTENT_TYPES, type OutputFormat } from "../domain/formats.js"
import type { EncodedVariant } from "../services/Resizer.js"

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

/**
 * The WebP extra of an opaque image (an image with alpha has no WebP extra: its baseline is
 * WebP). MEASURED_BELOW
 */
export const WEBP_EXTRA_OPTIONS: WebpOptions = { quality: 80, effort: 4 }

/**
 * The AVIF extra. MEASURED_BELOW
 */
export const AVIF_OPTIONS: AvifOptions = { quality: 50, effort: 3, chromaSubsampling: "4:2:0" }

/** Resized, auto-oriented, sRGB 8-bit pixels: 1 band (grey, opaque), 3 (colour, opaque) or 4 (alpha). */
export interface Pixels {
  readonly data: Buffer
  readonly width: number
  readonly height: number
  readonly channels: 1 | 3 | 4
}

/** The baseline's format: WebP when the image has alpha, else JPEG. */
export const baselineFormat = (hasAlpha: boolean): "jpeg" | "webp" => hasAlpha ? "webp" : "jpeg"

const fromPixels = ({ channels, data, height, width }: Pixels) => sharp(data, { raw: { width, height, channels } })

/**
 * The baseline encoding of `pixels`: WebP with alpha for 4 bands, else progressive JPEG.
 * Grey (1 band) stays a one-component JPEG (plain JFIF greyscale, decoded by every browser and OS):
 * measured about 30 % less encode time and 5 % fewer bytes than a three-channel sRGB copy of
 * identical pixels; sharp would otherwise write raw 1-band input as sRGB.
 */
export const encodeBaseline = (pixels: Pixels): Promise<{ readonly data: Buffer; readonly format: OutputFormat }> => {
  if (pixels.channels === 4) {
    return fromPixels(pixels).webp(WEBP_OPTIONS).toBuffer().then((data) => ({ data, format: "webp" }))
  }
  const image = pixels.channels === 1 ? fromPixels(pixels).toColourspace("b-w") : fromPixels(pixels)
  return image.jpeg(JPEG_OPTIONS).toBuffer().then((data) => ({ data, format: "jpeg" }))
}

/** An extra encoding of `pixels` (grey is written as sRGB: neither format has a grey mode we use). */
export const encodeExtra = (pixels: Pixels, format: ExtraFormat): Promise<EncodedVariant> => {
  const image = fromPixels(pixels)
  const encoded = format === "webp"
    ? image.webp(pixels.channels === 4 ? WEBP_OPTIONS : WEBP_EXTRA_OPTIONS)
    : image.avif(AVIF_OPTIONS)
  return encoded.toBuffer().then((data) => ({ format, data, contentType: OUTPUT_CONTENT_TYPES[format] }))
}
