import { Schema } from "effect"

/** Formats accepted for upload (by declared content type and by the real bytes). */
export const INPUT_FORMATS = ["jpeg", "png", "webp", "gif", "avif", "tiff"] as const
export const InputFormat = Schema.Literal(...INPUT_FORMATS)
export type InputFormat = typeof InputFormat.Type

/** Declared content types accepted at `POST /upload`, and the format each one announces. */
export const ACCEPTED_CONTENT_TYPES: Readonly<Record<string, InputFormat>> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/avif": "avif",
  "image/tiff": "tiff"
}

/** Encodings a rendition may be stored in: the baseline (JPEG, or WebP with alpha) and the extras. */
export const OUTPUT_CONTENT_TYPES = {
  jpeg: "image/jpeg",
  webp: "image/webp",
  avif: "image/avif"
} as const
export type OutputFormat = keyof typeof OUTPUT_CONTENT_TYPES
export const OutputFormat = Schema.Literal("jpeg", "webp", "avif")

/**
 * Extra encodings `IMGPIPE_FORMATS` may list, made for every size beside the baseline and stored at
 * `<image_id>/<size>.<format>`. An extra equal to the baseline's format (WebP for an image with
 * alpha) is not made twice: the baseline serves it.
 */
export const EXTRA_FORMATS = ["webp", "avif"] as const
export const ExtraFormat = Schema.Literal(...EXTRA_FORMATS)
export type ExtraFormat = typeof ExtraFormat.Type

export const CONTENT_TYPE_OF_FORMAT: Readonly<Record<InputFormat, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  tiff: "image/tiff"
}

/** Renditions never change once written: a new image gets a new id. */
export const RENDITION_CACHE_CONTROL = "public, max-age=31536000, immutable"

/**
 * The extras worth storing: each must be smaller than the baseline and than every extra kept before
 * it. Extras come in `EXTRA_FORMATS` order (WebP, then AVIF), the order in which `get_image`
 * prefers them, so a client that names a newer format is never sent more bytes than it would get
 * without naming it. Small, flat or already tiny renditions are where WebP can come out larger than
 * the trellis-quantised JPEG (the CMYK fixture at 320 px: 23.7 KB of WebP against 20.2 KB of JPEG);
 * the one not kept is neither written nor recorded, and negotiation falls back past it.
 */
export const worthStoring = <V extends { readonly data: Uint8Array }>(
  baselineBytes: number,
  extras: ReadonlyArray<V>
): ReadonlyArray<V> => {
  let smallest = baselineBytes
  return extras.filter((extra) => {
    if (extra.data.byteLength >= smallest) return false
    smallest = extra.data.byteLength
    return true
  })
}
