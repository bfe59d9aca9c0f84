/**
 * The status JSON of one image, as `GET /images/{id}`, the server-sent events, the webhooks and the
 * admin listing all send it: one schema and one mapping from the records, so they never disagree.
 */
import { Schema } from "effect"
import { FailureCode } from "./errors.js"
import { ImageId } from "./ids.js"
import { ImageStatus, type ImageView, type Placeholder, type RenditionRecord, RenditionStatus } from "./image.js"
import { isRejected } from "./rules.js"
import type { ImageSize } from "./sizes.js"

/** A timestamp on the wire: ISO 8601 (UTC). */
export const IsoDate = Schema.Date.annotations({
  description: "An ISO 8601 timestamp (UTC).",
  jsonSchema: { type: "string", format: "date-time" }
})

export const NullableInt = Schema.NullOr(Schema.Int)

const OriginalJson = Schema.Struct({
  content_type: Schema.String,
  bytes: NullableInt.annotations({ description: "Size of the stored original, once it arrived." }),
  width: NullableInt,
  height: NullableInt,
  format: Schema.NullOr(Schema.String).annotations({ description: "Real format found in the bytes, once probed." })
}).annotations({ identifier: "OriginalView" })

const RenditionJson = Schema.Struct({
  status: RenditionStatus,
  width: NullableInt,
  height: NullableInt,
  bytes: NullableInt,
  content_type: Schema.NullOr(Schema.String)
}).annotations({ identifier: "RenditionView" })

/** What a client paints before the image arrives (status JSON and `get_image` JSON alike). */
export const PlaceholderJson = Schema.Struct({
  thumbhash: Schema.String.annotations({
    description: "ThumbHash of the image (base64), e.g. for `thumbHashToDataURL`."
  }),
  dominant_color: Schema.String.annotations({ description: "Dominant colour, `#rrggbb` (sRGB)." }),
  width: Schema.Int.annotations({ description: "Width of the pixels the hash was made from (at most 100)." }),
  height: Schema.Int.annotations({ description: "Height of the pixels the hash was made from (at most 100)." })
}).annotations({ identifier: "Placeholder" })

const WebhookJson = Schema.Struct({
  attempts: Schema.Int.annotations({ description: "Requests made so far." }),
  delivered_at: Schema.NullOr(IsoDate).annotations({ description: "When the receiver answered 2xx; null until then." }),
  last_error: Schema.NullOr(Schema.String).annotations({
    description: "Why the last attempt failed (HTTP status, network error, refused destination); null once delivered."
  })
}).annotations({ identifier: "WebhookState" })

export const ImageStatusJson = Schema.Struct({
  image_id: ImageId,
  status: ImageStatus,
  original: Schema.NullOr(OriginalJson).annotations({ description: "null until the original has arrived." }),
  renditions: Schema.Struct({ small: RenditionJson, medium: RenditionJson, large: RenditionJson }),
  placeholder: Schema.NullOr(PlaceholderJson).annotations({
    description: "What to paint before the image arrives; null until the small size is made."
  }),
  duplicate_of: Schema.NullOr(ImageId).annotations({
    description:
      "The earlier upload of the same bytes whose renditions were copied for this one; null when they were made here."
  }),
  error: Schema.optional(Schema.Struct({ code: FailureCode, message: Schema.String })).annotations({
    description: "Why the image (or one of its sizes) failed, when it did."
  }),
  webhook: Schema.optional(WebhookJson).annotations({
    description: "The image's latest webhook delivery, once it has one (a callback URL and a terminal status)."
  }),
  created_at: IsoDate,
  updated_at: IsoDate
}).annotations({ identifier: "ImageStatus" })
export type ImageStatusJson = typeof ImageStatusJson.Type

/** A placeholder as the JSON bodies carry it (snake_case), or null. */
export const toPlaceholderJson = (placeholder: Placeholder | null): typeof PlaceholderJson.Type | null =>
  placeholder === null ? null : {
    thumbhash: placeholder.thumbhash,
    dominant_color: placeholder.dominantColor,
    width: placeholder.width,
    height: placeholder.height
  }

/** The status JSON (decoded form: dates as `Date`) of an image and whatever renditions it has. */
export const toStatusJson = ({ image, renditions, webhook }: ImageView): ImageStatusJson => {
  // A rejected image never gets renditions: say "failed" rather than leave them "pending" forever.
  // (`processing_failed` is not final: a later redelivery may still produce the size.)
  const rejected = isRejected(image)
  const rendition = (size: ImageSize): ImageStatusJson["renditions"][ImageSize] => {
    const row: RenditionRecord | undefined = renditions.find((r) => r.size === size)
    return row === undefined
      ? { status: rejected ? "failed" : "pending", width: null, height: null, bytes: null, content_type: null }
      : { status: row.status, width: row.width, height: row.height, bytes: row.bytes, content_type: row.contentType }
  }
  const arrived = image.originalBytes !== null || image.originalContentType !== null
  return {
    image_id: image.id,
    status: image.status,
    original: arrived
      ? {
        content_type: image.originalContentType ?? image.declaredContentType,
        bytes: image.originalBytes,
        width: image.originalWidth,
        height: image.originalHeight,
        format: image.originalFormat
      }
      : null,
    renditions: { small: rendition("small"), medium: rendition("medium"), large: rendition("large") },
    placeholder: toPlaceholderJson(image.placeholder),
    duplicate_of: image.duplicateOf,
    ...(image.errorCode === null
      ? {}
      : { error: { code: image.errorCode, message: image.errorMessage ?? "The image could not be processed." } }),
    ...(webhook === undefined || webhook === null
      ? {}
      : {
        webhook: { attempts: webhook.attempts, delivered_at: webhook.deliveredAt, last_error: webhook.lastError }
      }),
    created_at: image.createdAt,
    updated_at: image.updatedAt
  }
}

/** The status JSON as it goes on the wire (dates as ISO strings), e.g. for a webhook body or an SSE event. */
export const encodeStatusJson = Schema.encodeSync(ImageStatusJson)
