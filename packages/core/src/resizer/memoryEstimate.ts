import type { ExtraFormat, InputFormat } from "../domain/formats.js"
import type { SizeBox } from "../domain/sizes.js"

/*
 * How much memory one resize holds at its peak, estimated from the header before decoding.
 *
 *   estimate = input bytes + overhead
 *            + factor(format, bytes per band) × pixels × bands × bytes per band      (the decode)
 *            + output pixels × bytes per output pixel                                  (the encode)
 *
 * The factors are peak RSS above the process's baseline, per decoded pixel-band-byte, measured one
 * image per fresh process on sharp 0.35 / libvips 8.18 (cache off, one libvips thread, sequential
 * read, as the runtimes run it), rounded up; `bun run bench -- --only memory` measures them again
 * and the resizer's tests check that the estimate stays above the measured peak of every fixture.
 * Measured, per pixel-band-byte (MiB above baseline in brackets):
 *
 * - AVIF has no shrink-on-load: libheif decodes the whole picture (the AV1 decoder's planes,
 *   libheif's RGB copy, libvips' memory image): 6.15 for 8 bits (49 MP: 862 MiB; 12 MP: 208 MiB),
 *   4.13 for 10 bits (49 MP: 1157 MiB), the same at every output size.
 * - GIF: the loader holds the whole first frame as RGBA plus its index buffer: 1.2–1.3 (50 MP:
 *   231–246 MiB).
 * - JPEG, PNG, TIFF, WebP stream (sequential read; JPEG and opaque WebP also shrink on load; EXIF
 *   rotation is applied after the shrink): 0.03–0.52 of the full image (50 MP PNG RGB 41–65 MiB,
 *   RGBA 60–99 MiB, 16-bit 78–111 MiB, TIFF 47–73 MiB, WebP RGBA 55–68 MiB, JPEG 6–31 MiB).
 * - The encoder holds the whole output (mozjpeg's progressive coefficients, libwebp's planes):
 *   up to 13 B per output pixel for JPEG, 28 B for WebP with alpha (a 2048×1536 PNG kept at its
 *   size: 85 MiB).
 * - Extra formats (IMGPIPE_FORMATS): the decode ends in raw 8-bit pixels (≤ 4 B per output pixel)
 *   that stay held while the encoders run one after another. An opaque WebP extra did not raise the
 *   peak (20 MP JPEG into 2048: 37 MiB either way); AVIF (aom, effort 3) adds ~31 B per output pixel
 *   opaque and ~34 B with alpha (20 MP JPEG into 2048×1152: 37 → 78 MiB, at two libvips threads
 *   104 MiB; the RGBA 2048×1536 PNG: 97 → 114 MiB, two threads 125 MiB). Counted as 48 B.
 */

/** Peak bytes per decoded pixel-band-byte, by format; AVIF by bytes per band (8 bits vs 10/12). */
const DECODE_FACTOR: Readonly<Record<InputFormat, number>> = {
  avif: 6.5,
  gif: 1.5,
  jpeg: 0.6,
  png: 0.6,
  tiff: 0.6,
  webp: 0.6
}
/** AVIF at 10 or 12 bits: libvips holds 16-bit bands, libheif's intermediates stay narrower. */
const AVIF_HIGH_DEPTH_FACTOR = 4.5

/**
 * Bytes an encoder holds per output pixel. The encodes run one after another from the same raw
 * pixels, so the peak is the raw pixels plus the largest of them.
 */
const ENCODE_BYTES_PER_PIXEL = { jpeg: 16, webp: 32, avif: 48 } as const

/** libvips' per-pipeline buffers, thread state and the output buffer of a small image. */
const OVERHEAD_BYTES = 16 * 1024 * 1024

/** Bytes of one band of libvips' band formats (`metadata().depth`). */
const BYTES_PER_BAND: Readonly<Record<string, number>> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16
}

export interface DecodeShape {
  readonly format: InputFormat
  /** Displayed dimensions of the first page. */
  readonly width: number
  readonly height: number
  /** Bands as the header reports them (`metadata().channels`). */
  readonly bands: number
  /** libvips band format (`metadata().depth`), e.g. `uchar`, `ushort`. */
  readonly depth: string
  readonly hasAlpha: boolean
  readonly inputBytes: number
}

/** Pixels of the rendition: the image fitted inside the box, never enlarged. */
export const outputPixels = (width: number, height: number, box: SizeBox): number => {
  const scale = Math.min(1, box.width / width, box.height / height)
  return Math.max(1, Math.round(width * scale)) * Math.max(1, Math.round(height * scale))
}

/**
 * The estimated peak, in bytes, of resizing an image of this shape into `box` and encoding the
 * baseline plus the extra `formats`.
 */
export const estimateResizeBytes = (
  shape: DecodeShape,
  box: SizeBox,
  formats: ReadonlyArray<ExtraFormat> = []
): number => {
  const bytesPerBand = BYTES_PER_BAND[shape.depth] ?? 4
  // libvips' GIF loader always yields RGBA, whatever the header says.
  const bands = shape.format === "gif" ? Math.max(4, shape.bands) : shape.bands
  const factor = shape.format === "avif" && bytesPerBand > 1 ? AVIF_HIGH_DEPTH_FACTOR : DECODE_FACTOR[shape.format]
  const decode = factor * shape.width * shape.height * bands * bytesPerBand
  const pixels = outputPixels(shape.width, shape.height, box)
  const encoders = [shape.hasAlpha ? "webp" as const : "jpeg" as const, ...formats]
  // The raw 8-bit pixels every encoder reads (at most 4 bands) stay held until the last encode.
  const encode = pixels * (4 + Math.max(...encoders.map((format) => ENCODE_BYTES_PER_PIXEL[format])))
  return Math.ceil(shape.inputBytes + OVERHEAD_BYTES + decode + encode)
}
