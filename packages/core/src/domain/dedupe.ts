/**
 * Duplicate uploads: an original whose bytes (SHA-256) and render profile match an earlier image's
 * gets that image's renditions copied instead of resized, or its refusal repeated without a
 * decode. Pure: the use case (`usecases/processDuplicate.ts`) and the repositories apply it.
 */
import type { RejectionCode } from "./errors.js"
import type { ExtraFormat } from "./formats.js"
import type { ImageSize, SizeBoxes } from "./sizes.js"

/**
 * The version of what the resizer makes from the same bytes and settings: encoder options
 * (resizer/encoders.ts), the resize kernel, the placeholder's algorithm, and what it refuses (the
 * accepted formats, the sniffing). Bump it whenever any of them changes, so images made from then
 * on are neither copied from renditions made the old way nor refused as the old code refused.
 */
export const ENCODER_VERSION = 1

/** What decides the renditions (and the refusals) of a given original. */
export interface RenderSettings {
  readonly sizes: SizeBoxes
  readonly sizeOrder: ReadonlyArray<ImageSize>
  readonly formats: ReadonlyArray<ExtraFormat>
  /** A refusal for `too_many_pixels` holds only under the same limit. */
  readonly maxPixels: number
}

/**
 * A short, stable string of the settings that shape an image's renditions: two images with the
 * same bytes and the same profile have identical renditions. E.g.
 * `e1;small=320x320,medium=1024x1024,large=2048x2048;webp;px=50000000`.
 */
export const renderProfile = (settings: RenderSettings): string => {
  const sizes = settings.sizeOrder
    .map((size) => `${size}=${settings.sizes[size].width}x${settings.sizes[size].height}`)
    .join(",")
  const formats = settings.formats.length === 0 ? "none" : settings.formats.join(",")
  return `e${ENCODER_VERSION};${sizes};${formats};px=${settings.maxPixels}`
}

/**
 * Refusals that are a property of the bytes under a render profile, so a later upload of the same
 * bytes may be refused the same way without decoding. Left out: `file_too_large` (decided before
 * the bytes are read and hashed) and `too_large_to_decode` (depends on the worker's memory budget,
 * not on the profile).
 */
export const REUSABLE_REJECTIONS: ReadonlyArray<RejectionCode> = [
  "empty_file",
  "not_an_image",
  "unsupported_format",
  "too_many_pixels",
  "corrupt_image"
]

export const isReusableRejection = (code: RejectionCode): boolean => REUSABLE_REJECTIONS.includes(code)

/** The SHA-256 of an original and the profile it is processed under. */
export interface Fingerprint {
  readonly sha256: string
  readonly renderProfile: string
}
