/**
 * Field schemas shared by more than one group's contract: the image id and size parameters, dates
 * and nullable integers as they appear on the wire.
 */
import { ImageId } from "@imgpipe/core/domain/ids"
import { ImageSize } from "@imgpipe/core/domain/sizes"

/** An id in the examples of the OpenAPI document ("Try it out" answers 404 for it, not 400). */
export const EXAMPLE_IMAGE_ID = ImageId.make("0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10")

/**
 * `override: true` makes the message replace the whole nested explanation (pattern, brand, type),
 * so a client sees one actionable sentence in the 400 body.
 */
export const ImageIdParam = ImageId.annotations({
  description: "The image id returned by POST /upload (a UUID).",
  examples: [EXAMPLE_IMAGE_ID],
  message: () => ({ message: "must be an image id (a UUID)", override: true })
})

/** Ids are stored lowercase; the UUID pattern accepts either case, so handlers normalise before lookup. */
export const normalizeId = (id: ImageId): ImageId => ImageId.make(id.toLowerCase())

export const SizeParam = ImageSize.annotations({
  description: "The size wanted: small, medium or large.",
  examples: ["medium"],
  message: () => ({ message: "must be one of small, medium, large", override: true })
})

/** Dates and nullable integers on the wire: the same schemas as the status JSON in core. */
export { IsoDate, NullableInt } from "@imgpipe/core/domain/statusJson"
