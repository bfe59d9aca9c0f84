import { Context, type Effect, type Option } from "effect"
import type { InvalidImage } from "../domain/errors.js"
import type { ExtraFormat, InputFormat, OutputFormat } from "../domain/formats.js"
import type { Placeholder } from "../domain/image.js"
import type { SizeBox } from "../domain/sizes.js"

/** What the header of an accepted image says. */
export interface ImageInfo {
  readonly format: InputFormat
  readonly contentType: string
  /** Dimensions as displayed, i.e. after the EXIF orientation is applied. */
  readonly width: number
  readonly height: number
  readonly hasAlpha: boolean
}

/** One extra encoding of the same resized pixels. */
export interface EncodedVariant {
  readonly format: ExtraFormat
  readonly data: Uint8Array
  readonly contentType: string
}

/** What `resize` makes: the baseline encoding, its extras, and (when asked) the placeholder. */
export interface ResizedImage {
  /** The baseline: progressive JPEG when opaque, WebP when the image has alpha. */
  readonly data: Uint8Array
  readonly format: OutputFormat
  readonly contentType: string
  readonly width: number
  readonly height: number
  /**
   * The extras asked for in `ResizeOptions.formats`, in that order, from the same decoded and
   * resized pixels; an extra in the baseline's own format is left out (the baseline serves it).
   */
  readonly variants: ReadonlyArray<EncodedVariant>
  /** Made from the resized pixels when `ResizeOptions.placeholder` is true; none otherwise. */
  readonly placeholder: Option.Option<Placeholder>
}

export interface ResizeOptions {
  /** Extra encodings beside the baseline (`IMGPIPE_FORMATS`); none by default. */
  readonly formats?: ReadonlyArray<ExtraFormat>
  /** Compute the ThumbHash placeholder and dominant colour (the small size's job). */
  readonly placeholder?: boolean
}

/**
 * Decodes and resizes images. `probe` reads only the header: the real format from
 * the magic number, the format allow-list and the pixel limit; `resize` decodes, auto-orients, fits
 * inside the box without enlarging, converts to sRGB, strips metadata and encodes progressive JPEG
 * (opaque) or WebP (alpha), plus the extra encodings and the placeholder asked for, all from one
 * decode. Bad content fails with `InvalidImage`, never with a defect.
 * `resize` holds its estimated share of the process's decode memory budget while it decodes (it
 * waits while that does not fit) and refuses an image that could never fit (`too_large_to_decode`).
 */
export class Resizer extends Context.Tag("imgpipe/Resizer")<
  Resizer,
  {
    readonly probe: (bytes: Uint8Array) => Effect.Effect<ImageInfo, InvalidImage>
    readonly resize: (
      bytes: Uint8Array,
      box: SizeBox,
      options?: ResizeOptions
    ) => Effect.Effect<ResizedImage, InvalidImage>
  }
>() {}
