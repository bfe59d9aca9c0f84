import { Effect, Option, Schema } from "effect"
import { v7 as uuidv7 } from "uuid"

/** Server-generated image id: a UUID (v7 when we make it, so inserts stay index-local). */
export const ImageId = Schema.UUID.pipe(Schema.brand("ImageId"))
export type ImageId = typeof ImageId.Type

export const newImageId: Effect.Effect<ImageId> = Effect.sync(() => ImageId.make(uuidv7()))

const decodeImageId = Schema.decodeUnknownOption(ImageId)

/** Parses a string that should be an image id (a raw object key, a query parameter). */
export const parseImageId = (value: unknown): Option.Option<ImageId> =>
  typeof value === "string" ? decodeImageId(value.toLowerCase()) : Option.none()
