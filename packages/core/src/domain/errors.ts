import { Schema } from "effect"
import { ImageId } from "./ids.js"
import { ImageSize } from "./sizes.js"

/**
 * Why an uploaded object was refused as content. Recorded on the image and returned by the API;
 * all of these are permanent: retrying the same bytes gives the same answer.
 */
export const RejectionCode = Schema.Literal(
  "empty_file",
  "not_an_image",
  "unsupported_format",
  "too_many_pixels",
  "file_too_large",
  "corrupt_image",
  /** Decoding would need more memory than a worker's whole decode budget (an AVIF of many pixels). */
  "too_large_to_decode"
)
export type RejectionCode = typeof RejectionCode.Type

/** Codes an image or rendition can record: a rejection, or retries exhausted (dead-lettered). */
export const FailureCode = Schema.Union(RejectionCode, Schema.Literal("processing_failed"))
export type FailureCode = typeof FailureCode.Type

// ---- request errors (use cases called by the API) --------------------------------------------

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  limit: Schema.Number
}) {}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String,
  contentType: Schema.String
}) {}

export class ImageNotFound extends Schema.TaggedError<ImageNotFound>()("ImageNotFound", {
  imageId: Schema.String,
  message: Schema.String
}) {}

/** The image's content was refused; `get_image` answers 422 with the reason. */
export class ImageRejected extends Schema.TaggedError<ImageRejected>()("ImageRejected", {
  imageId: ImageId,
  code: RejectionCode,
  message: Schema.String
}) {}

// ---- content errors (resizer) -----------------------------------------------------------------

/** The bytes are not an acceptable image: a permanent failure, recorded and never retried. */
export class InvalidImage extends Schema.TaggedError<InvalidImage>()("InvalidImage", {
  code: RejectionCode,
  message: Schema.String
}) {}

// ---- infrastructure errors (transient: the queue retries them) --------------------------------

export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  key: Schema.String,
  message: Schema.String
}) {}

export class ObjectNotFound extends Schema.TaggedError<ObjectNotFound>()("ObjectNotFound", {
  bucket: Schema.String,
  key: Schema.String
}) {}

/** An object is bigger than the limit allows; reading stopped at the limit. */
export class ObjectTooLarge extends Schema.TaggedError<ObjectTooLarge>()("ObjectTooLarge", {
  key: Schema.String,
  limit: Schema.Number
}) {}

export class QueueError extends Schema.TaggedError<QueueError>()("QueueError", {
  operation: Schema.String,
  message: Schema.String
}) {}

export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  operation: Schema.String,
  message: Schema.String
}) {}

/** A job could not run now; the queue will deliver it again (and dead-letter it once its deliveries are used up). */
export class TransientFailure extends Schema.TaggedError<TransientFailure>()("TransientFailure", {
  imageId: Schema.String,
  size: Schema.optional(ImageSize),
  message: Schema.String
}) {}
