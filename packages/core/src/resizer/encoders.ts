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

/*
 * The extras, measured at the large size (2048 box) on six photos and one flat artwork (bird 20 MP,
 * sunset 12 MP, Canon EOS 70D 4 MP, Canon 400D 2.5 MP, the iPhone AVIF, the 24 MP graphic), from the
 * same raw pixels, libvips at one thread per image as the runtimes run it; bytes summed, CPU = process
 * user+system ms summed (best of 2, on a shared 2-core machine: ratios, not absolutes), PSNR on luma
 * against the pixels encoded (a rough guide; AVIF looks better than its PSNR at equal numbers):
 *
 *   candidate                    bytes     vs JPEG  CPU ms  PSNR-Y
 *   JPEG baseline (above)        909,984   100 %       811  43.87
 *   WebP q80 effort 4            575,638    63 %     1,250  44.44   ← chosen
 *   WebP q75 effort 4            469,156    52 %     1,195  43.45
 *   WebP q80 effort 4 smartSub   598,420    66 %     2,655  44.43
 *   WebP q80 effort 6            550,714    61 %     2,163  44.25
 *   AVIF q50 e4 4:4:4 (default)  314,461    35 %    28,937  44.16
 *   AVIF q50 e4 4:2:0            294,547    32 %    24,489  43.93
 *   AVIF q50 e3 4:2:0            318,309    35 %     5,077  43.81   ← chosen
 *   AVIF q50 e2 4:2:0            355,586    39 %     3,608  43.55
 *   AVIF q55 e2 4:2:0            414,165    46 %     3,660  44.21
 *   AVIF q45 e3 4:2:0            265,426    29 %     4,871  43.03
 *
 * Measured by a one-off script: each candidate encoding the same resized raw pixels, in a loop
 * (docs/decisions.md has it); the bench's format section measures the chosen settings again.
 */

/**
 * The WebP extra of an opaque image (an image with alpha has none: its baseline is WebP). Quality
 * 80 at libwebp's default effort matches the JPEG's PSNR with 37 % fewer bytes; q75 drops below the
 * JPEG (a browser that asks for WebP should not get a worse picture); effort 6 saves 4 % more for
 * 1.7× the CPU; smart subsampling costs bytes and doubles the CPU.
 */
export const WEBP_EXTRA_OPTIONS: WebpOptions = { quality: 80, effort: 4 }

/**
 * The AVIF extra: quality 50 with 4:2:0 chroma at effort 3. About a third of the JPEG's bytes at
 * the JPEG's PSNR. sharp's default (effort 4, 4:4:4) makes the same bytes for 5.7× the CPU
 * (~4.8 s vs ~0.85 s per 2048 image here); effort 4 at 4:2:0 saves 7 % more bytes for 4.8× the CPU.
 * Encoded once, served ~20 times: effort 2 would save ~0.25 s of CPU per image (~$0.000008 at a
 * 2 GB Lambda) and cost ~6 KB × 20 views (~$0.00001 of CDN egress), so effort 3; effort 4's extra
 * 3 s per image buys ~4 KB, a clear loss.
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
