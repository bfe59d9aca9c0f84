import { Context, type Effect } from "effect"
import type { InvalidImage } from "../domain/errors.js"
import type { InputFormat, OutputFormat } from "../domain/formats.js"
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

export interface ResizedImage {
  readonly data: Uint8Array
  readonly format: OutputFormat
  readonly contentType: string
  readonly width: number
  readonly height: number
}

/**
 * Decodes and resizes images. `probe` reads only the header: the real format from
 * the magic number, the format allow-list and the pixel limit; `resize` decodes, auto-orients, fits
 * inside the box without enlarging, converts to sRGB, strips metadata and encodes progressive JPEG
 * (opaque) or WebP (alpha). Bad content fails with `InvalidImage`, never with a defect.
 * `resize` holds its estimated share of the process's decode memory budget while it decodes (it
 * waits while that does not fit) and refuses an image that could never fit (`too_large_to_decode`).
 */
export class Resizer extends Context.Tag("imgpipe/Resizer")<
  Resizer,
  {
    readonly probe: (bytes: Uint8Array) => Effect.Effect<ImageInfo, InvalidImage>
    readonly resize: (bytes: Uint8Array, box: SizeBox) => Effect.Effect<ResizedImage, InvalidImage>
  }
>() {}
