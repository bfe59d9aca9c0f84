import { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, ParseResult, Schema } from "effect"
import { DatabaseError, FailureCode } from "../domain/errors.js"
import {
  ImageRecord,
  ImageStatus,
  Placeholder,
  RenditionRecord,
  RenditionStatus,
  RenditionVariant
} from "../domain/image.js"
import { ImageSize } from "../domain/sizes.js"
import { WebhookDelivery, WebhookEventType } from "../domain/webhook.js"

/**
 * Row decoding shared by the SQL layers: rows arrive with their snake_case column names and
 * PostgreSQL's own encodings, and leave as the domain's classes.
 */

/**
 * A `bigint` column. node-postgres returns int8 as a string (it may not fit a JS number); ours
 * hold byte counts, which do, so they are decoded to safe integers and refused otherwise.
 */
export const Int8 = Schema.Union(Schema.Int, Schema.NumberFromString.pipe(Schema.int()))

/** A field read from a differently named column. */
const column = <S extends Schema.Schema.All, const K extends string>(key: K, schema: S) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

/**
 * A `jsonb` column: node-postgres and PGlite both hand it over parsed; a driver or a cast that
 * leaves it as text is decoded from the JSON string as well.
 */
const Jsonb = <A, I>(schema: Schema.Schema<A, I>) => Schema.Union(schema, Schema.parseJson(schema))

/** An `images` row, as `SELECT *` returns it. */
export const ImageRow = Schema.Struct({
  id: Schema.String,
  status: ImageStatus,
  declaredContentType: column("declared_content_type", Schema.String),
  declaredBytes: column("declared_bytes", Int8),
  uploadExpiresAt: column("upload_expires_at", Schema.DateFromSelf),
  originalBytes: column("original_bytes", Schema.NullOr(Int8)),
  originalContentType: column("original_content_type", Schema.NullOr(Schema.String)),
  originalFormat: column("original_format", Schema.NullOr(Schema.String)),
  originalWidth: column("original_width", Schema.NullOr(Schema.Int)),
  originalHeight: column("original_height", Schema.NullOr(Schema.Int)),
  originalStored: column("original_stored", Schema.Boolean),
  errorCode: column("error_code", Schema.NullOr(FailureCode)),
  errorMessage: column("error_message", Schema.NullOr(Schema.String)),
  sha256: Schema.NullOr(Schema.String),
  duplicateOf: column("duplicate_of", Schema.NullOr(Schema.String)),
  placeholder: Schema.NullOr(Jsonb(Placeholder)),
  createdAt: column("created_at", Schema.DateFromSelf),
  updatedAt: column("updated_at", Schema.DateFromSelf)
})

/** `images` row → `ImageRecord` (the class validates the id and the rest once more). */
export const ImageFromRow = Schema.compose(ImageRow, ImageRecord)

/** A `renditions` row, as `SELECT *` returns it. */
export const RenditionRow = Schema.Struct({
  imageId: column("image_id", Schema.String),
  size: ImageSize,
  status: RenditionStatus,
  key: Schema.NullOr(Schema.String),
  width: Schema.NullOr(Schema.Int),
  height: Schema.NullOr(Schema.Int),
  bytes: Schema.NullOr(Int8),
  contentType: column("content_type", Schema.NullOr(Schema.String)),
  variants: Jsonb(Schema.Array(RenditionVariant)),
  errorCode: column("error_code", Schema.NullOr(FailureCode)),
  errorMessage: column("error_message", Schema.NullOr(Schema.String)),
  createdAt: column("created_at", Schema.DateFromSelf),
  updatedAt: column("updated_at", Schema.DateFromSelf)
})

export const RenditionFromRow = Schema.compose(RenditionRow, RenditionRecord)

// ---- errors -------------------------------------------------------------------------------------

/** Belt and braces: a `scheme://user:password@` in any text that reaches an error or a log. */
const redactCredentials = (text: string): string => text.replace(/\/\/[^/@\s]*@/g, "//***@")

/**
 * What went wrong, without secrets. PostgreSQL's own errors name the constraint or the SQLSTATE,
 * socket errors the address; neither carries the connection string, but it is scrubbed anyway.
 */
export const describeSqlError = (error: SqlError): string => {
  const cause: unknown = error.cause
  const parts = [error.message]
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    parts.push(typeof code === "string" ? `${cause.message} (${code})` : cause.message)
  }
  return redactCredentials(parts.join(": "))
}

/** Turns the SQL layer's errors into the domain's `DatabaseError` for `operation`. */
export const toDatabaseError = (operation: string) => (error: SqlError | ParseResult.ParseError): DatabaseError =>
  new DatabaseError({
    operation,
    message: error._tag === "SqlError"
      ? describeSqlError(error)
      : `a row did not have the expected shape: ${ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 500)}`
  })

/**
 * One repository operation: its SQL and decoding failures become `DatabaseError` (a `DatabaseError`
 * it raised itself passes through) and it runs in a span `<service>.<operation>`.
 */
export const sqlOperation =
  (service: string) =>
  (operation: string) =>
  <A, R>(effect: Effect.Effect<A, SqlError | ParseResult.ParseError | DatabaseError, R>) =>
    effect.pipe(
      Effect.mapError((error) => (error._tag === "DatabaseError" ? error : toDatabaseError(operation)(error))),
      Effect.withSpan(`${service}.${operation}`)
    )

/**
 * `withTransaction` turns a failed COMMIT or ROLLBACK (a dropped connection, a serialization
 * failure) into a defect; here it becomes the ordinary, retryable `DatabaseError` again.
 */
export const sqlDefectsAsFailures =
  (operation: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DatabaseError, R> =>
    Effect.catchSomeDefect(
      effect,
      (defect) =>
        defect instanceof SqlError ? Option.some(Effect.fail(toDatabaseError(operation)(defect))) : Option.none()
    )

// ---- webhooks -----------------------------------------------------------------------------------

/** A `webhook_deliveries` row, as `SELECT *` returns it. */
export const WebhookDeliveryRow = Schema.Struct({
  eventId: column("event_id", Schema.String),
  imageId: column("image_id", Schema.String),
  type: WebhookEventType,
  url: Schema.String,
  createdAt: column("created_at", Schema.DateFromSelf),
  attempts: Schema.Int,
  nextAttemptAt: column("next_attempt_at", Schema.DateFromSelf),
  lastAttemptAt: column("last_attempt_at", Schema.NullOr(Schema.DateFromSelf)),
  deliveredAt: column("delivered_at", Schema.NullOr(Schema.DateFromSelf)),
  lastError: column("last_error", Schema.NullOr(Schema.String)),
  givenUpAt: column("given_up_at", Schema.NullOr(Schema.DateFromSelf)),
  dispatchedAt: column("dispatched_at", Schema.NullOr(Schema.DateFromSelf)),
  traceparent: Schema.NullOr(Schema.String)
})

export const WebhookDeliveryFromRow = Schema.compose(WebhookDeliveryRow, WebhookDelivery)
