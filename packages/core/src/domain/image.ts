import { Schema } from "effect"
import { FailureCode } from "./errors.js"
import { ExtraFormat } from "./formats.js"
import { ImageId } from "./ids.js"
import { ImageSize } from "./sizes.js"
import type { WebhookSummary } from "./webhook.js"

/** `expired`: the upload never arrived and the record was closed by the reconciler (terminal). */
export const ImageStatus = Schema.Literal("awaiting_upload", "processing", "ready", "failed", "expired")
export type ImageStatus = typeof ImageStatus.Type

export const RenditionStatus = Schema.Literal("pending", "ready", "failed")
export type RenditionStatus = typeof RenditionStatus.Type

/**
 * What a client paints before the image arrives: a ThumbHash (base64) of the small size's pixels,
 * their dominant colour (`#rrggbb`, sRGB), and the dimensions of the pixels the hash was made from
 * (at most 100 × 100, the image's aspect ratio).
 */
export const Placeholder = Schema.Struct({
  thumbhash: Schema.String,
  dominantColor: Schema.String,
  width: Schema.Int,
  height: Schema.Int
})
export type Placeholder = typeof Placeholder.Type

/** One extra encoding of a rendition (`IMGPIPE_FORMATS`): same pixels, same dimensions. */
export const RenditionVariant = Schema.Struct({
  format: ExtraFormat,
  key: Schema.String,
  bytes: Schema.Int,
  contentType: Schema.String
})
export type RenditionVariant = typeof RenditionVariant.Type

/** One row of `images`. */
export class ImageRecord extends Schema.Class<ImageRecord>("ImageRecord")({
  id: ImageId,
  status: ImageStatus,
  /** What the client declared at `POST /upload`. */
  declaredContentType: Schema.String,
  declaredBytes: Schema.Int,
  uploadExpiresAt: Schema.DateFromSelf,
  /** Known once the object arrived (bytes) and was probed (the rest). */
  originalBytes: Schema.NullOr(Schema.Int),
  originalContentType: Schema.NullOr(Schema.String),
  originalFormat: Schema.NullOr(Schema.String),
  originalWidth: Schema.NullOr(Schema.Int),
  originalHeight: Schema.NullOr(Schema.Int),
  /** Whether the raw object is still stored (false once removed after processing). */
  originalStored: Schema.Boolean,
  errorCode: Schema.NullOr(FailureCode),
  errorMessage: Schema.NullOr(Schema.String),
  /** SHA-256 of the original's bytes (hex), once a job read them. */
  sha256: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  /** The earlier image (same bytes, same settings) whose renditions were copied, when they were. */
  duplicateOf: Schema.optionalWith(Schema.NullOr(ImageId), { default: () => null }),
  /** Set by the small size's job. */
  placeholder: Schema.optionalWith(Schema.NullOr(Placeholder), { default: () => null }),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
}) {}

/** One row of `renditions`: exists once a size was written or failed for good. */
export class RenditionRecord extends Schema.Class<RenditionRecord>("RenditionRecord")({
  imageId: ImageId,
  size: ImageSize,
  status: RenditionStatus,
  key: Schema.NullOr(Schema.String),
  width: Schema.NullOr(Schema.Int),
  height: Schema.NullOr(Schema.Int),
  bytes: Schema.NullOr(Schema.Int),
  contentType: Schema.NullOr(Schema.String),
  /** The extra encodings stored beside the baseline (`key`/`contentType` above), none when empty. */
  variants: Schema.optionalWith(Schema.Array(RenditionVariant), { default: () => [] }),
  errorCode: Schema.NullOr(FailureCode),
  errorMessage: Schema.NullOr(Schema.String),
  createdAt: Schema.DateFromSelf,
  updatedAt: Schema.DateFromSelf
}) {}

/** An image with whatever renditions exist so far. */
export interface ImageView {
  readonly image: ImageRecord
  readonly renditions: ReadonlyArray<RenditionRecord>
  /** The state of the image's latest webhook delivery; absent or null when it has none (yet). */
  readonly webhook?: WebhookSummary | null
}

/** The message each size queue carries. */
export const ProcessJob = Schema.Struct({
  image_id: ImageId,
  raw_key: Schema.String,
  size: ImageSize
})
export type ProcessJob = typeof ProcessJob.Type
