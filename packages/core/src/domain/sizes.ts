import { Schema } from "effect"

export const IMAGE_SIZES = ["small", "medium", "large"] as const
export const ImageSize = Schema.Literal(...IMAGE_SIZES)
export type ImageSize = typeof ImageSize.Type

/** What `get_image` served: a rendition, or the original while renditions are unfinished. */
export const ServedSize = Schema.Literal(...IMAGE_SIZES, "original")
export type ServedSize = typeof ServedSize.Type

/** The bounding box each size must fit inside. */
export interface SizeBox {
  readonly width: number
  readonly height: number
}

export type SizeBoxes = Readonly<Record<ImageSize, SizeBox>>

/** Processed object key: `<image_id>/<image_size>`. */
export const renditionKey = (imageId: string, size: ImageSize): string => `${imageId}/${size}`

/** Processed object key of an extra encoding: `<image_id>/<image_size>.<format>`. */
export const variantKey = (imageId: string, size: ImageSize, format: string): string =>
  `${renditionKey(imageId, size)}.${format}`

/** Raw object key: `<image_id>`. */
export const rawKey = (imageId: string): string => imageId
