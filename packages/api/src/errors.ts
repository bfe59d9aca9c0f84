/**
 * The wire errors of the API. Every error leaves the server as exactly
 * `{ "error": "<code>", "message": "<human text>" }`. In code they are ordinary tagged errors
 * (yieldable, `catchTag`-able); the wire schemas below translate each one to that body and carry its
 * HTTP status, so the server encodes, the client decodes and the OpenAPI document describes the same
 * shape. Endpoints and groups declare the ones they can fail with (`.addError(ErrorBody.…)`).
 */
import { HttpApiSchema } from "@effect/platform"
import { RejectionCode } from "@imgpipe/core/domain/errors"
import { Schema } from "effect"
import { badRequestDescription } from "./openapi.js"

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}
/** A valid credential without the right: an upload key on the admin API. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {}
/** The admin API is off: no `IMGPIPE_ADMIN_KEYS` on this server. */
export class AdminDisabled extends Schema.TaggedError<AdminDisabled>()("AdminDisabled", { message: Schema.String }) {}
/** The request cannot apply to the resource as it is now (e.g. reprocess without a stored original). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}
export class TooLarge extends Schema.TaggedError<TooLarge>()("TooLarge", { message: Schema.String }) {}
export class UnsupportedType extends Schema.TaggedError<UnsupportedType>()("UnsupportedType", {
  message: Schema.String
}) {}
/** The image's content was refused for good; the wire `error` is the rejection code itself. */
export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", {
  code: RejectionCode,
  message: Schema.String
}) {}
/** `POST /upload`'s `callback_url` was refused (not https, a private destination, webhooks off). */
export class InvalidCallbackUrl extends Schema.TaggedError<InvalidCallbackUrl>()("InvalidCallbackUrl", {
  message: Schema.String
}) {}
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", { message: Schema.String }) {}
/** A backing service (database, storage) failed; worth retrying. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", { message: Schema.String }) {}
/** A bug or anything else unexpected; details go to the log, never to the client. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}) {}

/** Every error class the API declares (the server passes these through to their wire schemas). */
export const apiErrorClasses = [
  BadRequest,
  Unauthorized,
  Forbidden,
  AdminDisabled,
  Conflict,
  NotFound,
  TooLarge,
  UnsupportedType,
  Rejected,
  InvalidCallbackUrl,
  NotReady,
  Unavailable,
  InternalError
] as const
export type ApiError = InstanceType<(typeof apiErrorClasses)[number]>

/** `{ error, message }` on the wire ⇄ an error instance in code, with its status and docs. */
const wireError = <A extends { readonly message: string }, I, const Code extends string>(
  errorClass: Schema.Schema<A, I> & (new(props: { readonly message: string }) => A),
  options: { readonly code: Code; readonly status: number; readonly identifier: string; readonly description: string }
): Schema.Schema<A, { readonly error: Code; readonly message: string }> =>
  Schema.transform(
    Schema.Struct({ error: Schema.Literal(options.code), message: Schema.String }),
    Schema.typeSchema(errorClass),
    {
      strict: true,
      decode: (body) => new errorClass({ message: body.message }),
      encode: (error) => ({ error: options.code, message: error.message })
    }
  ).annotations(
    HttpApiSchema.annotations({
      status: options.status,
      identifier: options.identifier,
      description: options.description
    })
  )

/** The wire schemas: what endpoints declare with `.addError(...)`. */
export const ErrorBody = {
  BadRequest: wireError(BadRequest, {
    code: "bad_request",
    status: 400,
    identifier: "BadRequestError",
    description: badRequestDescription
  }),
  Unauthorized: wireError(Unauthorized, {
    code: "unauthorized",
    status: 401,
    identifier: "UnauthorizedError",
    description: "API keys are configured and the request has no `Authorization: Bearer <key>` with a valid key."
  }),
  Forbidden: wireError(Forbidden, {
    code: "forbidden",
    status: 403,
    identifier: "ForbiddenError",
    description:
      "The key is valid for uploads (IMGPIPE_API_KEYS) but this endpoint needs an admin key (IMGPIPE_ADMIN_KEYS)."
  }),
  AdminDisabled: wireError(AdminDisabled, {
    code: "admin_disabled",
    status: 403,
    identifier: "AdminDisabledError",
    description: "The admin API is off on this server: IMGPIPE_ADMIN_KEYS is not set."
  }),
  Conflict: wireError(Conflict, {
    code: "conflict",
    status: 409,
    identifier: "ConflictError",
    description: "The image cannot be reprocessed as it is: its original is not stored, or its content was refused."
  }),
  NotFound: wireError(NotFound, {
    code: "not_found",
    status: 404,
    identifier: "NotFoundError",
    description: "No image has this id, or nothing has been uploaded for it yet."
  }),
  TooLarge: wireError(TooLarge, {
    code: "too_large",
    status: 413,
    identifier: "TooLargeError",
    description:
      "The declared content_length is over the upload limit, or the request body itself is over the JSON body " +
      "limit (IMGPIPE_MAX_JSON_BODY_BYTES, 16 KiB by default)."
  }),
  UnsupportedType: wireError(UnsupportedType, {
    code: "unsupported_type",
    status: 415,
    identifier: "UnsupportedTypeError",
    description: "The declared content_type is not accepted (accepted: JPEG, PNG, WebP, GIF, AVIF, TIFF)."
  }),
  Rejected: Schema.transform(
    Schema.Struct({ error: RejectionCode, message: Schema.String }),
    Schema.typeSchema(Rejected),
    {
      strict: true,
      decode: (body) => new Rejected({ code: body.error, message: body.message }),
      encode: (rejected) => ({ error: rejected.code, message: rejected.message })
    }
  ).annotations(
    HttpApiSchema.annotations({
      status: 422,
      identifier: "RejectedError",
      description: "The uploaded content was refused for good; `error` is the reason (e.g. not_an_image)."
    })
  ),
  InvalidCallbackUrl: wireError(InvalidCallbackUrl, {
    code: "invalid_callback_url",
    status: 400,
    identifier: "InvalidCallbackUrlError",
    description: "callback_url was refused: not an https URL (http only when IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true), " +
      "its host resolves to a loopback, private, link-local or otherwise non-public address, or webhooks are off " +
      "on this server (no IMGPIPE_WEBHOOK_SECRET). The message says which."
  }),
  NotReady: wireError(NotReady, {
    code: "not_ready",
    status: 503,
    identifier: "NotReadyError",
    description:
      "The database does not answer, or the process cannot open files (open-files limit reached); the instance " +
      "should not receive traffic."
  }),
  Unavailable: wireError(Unavailable, {
    code: "unavailable",
    status: 503,
    identifier: "UnavailableError",
    description: "A backing service (database or storage) failed; retry shortly."
  }),
  InternalError: wireError(InternalError, {
    code: "internal_error",
    status: 500,
    identifier: "InternalError",
    description: "An unexpected failure on the server side."
  })
} as const
