/**
 * The imgpipe HTTP contract: endpoints, request and response schemas, errors and auth, declared once
 * with `HttpApi` so the server (`Http.ts`), a typed `HttpApiClient` and the OpenAPI document
 * (`GET /openapi.json`, `GET /docs`) cannot drift apart. No implementation lives here.
 */
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import {
  FailureCode,
  ImageId,
  ImageSize,
  ImageStatus,
  RejectionCode,
  RenditionStatus,
  ServedSize
} from "@imgpipe/core"
import { Schema } from "effect"
import {
  badRequestDescription,
  documentServerRoutes,
  withExampleValues,
  withoutFrameworkDecodeError,
  withResponseHeaders
} from "./openapi.js"

// ---- errors ------------------------------------------------------------------------------------
//
// Every error leaves the server as exactly `{ "error": "<code>", "message": "<human text>" }`.
// In code they are ordinary tagged errors (yieldable, `catchTag`-able); the wire schemas below
// translate each one to that body and carry its HTTP status, so the server encodes, the client
// decodes and the OpenAPI document describes the same shape.

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { message: Schema.String }) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}
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
  NotFound,
  TooLarge,
  UnsupportedType,
  Rejected,
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

// ---- shared field schemas ----------------------------------------------------------------------

/**
 * `override: true` makes the message replace the whole nested explanation (pattern, brand, type),
 * so a client sees one actionable sentence in the 400 body.
 */
/** An id in the examples of the OpenAPI document ("Try it out" answers 404 for it, not 400). */
export const EXAMPLE_IMAGE_ID = ImageId.make("0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10")

const ImageIdParam = ImageId.annotations({
  description: "The image id returned by POST /upload (a UUID).",
  examples: [EXAMPLE_IMAGE_ID],
  message: () => ({ message: "must be an image id (a UUID)", override: true })
})

const SizeParam = ImageSize.annotations({
  description: "The size wanted: small, medium or large.",
  examples: ["medium"],
  message: () => ({ message: "must be one of small, medium, large", override: true })
})

const IsoDate = Schema.Date.annotations({
  description: "An ISO 8601 timestamp (UTC).",
  jsonSchema: { type: "string", format: "date-time" }
})

const NullableInt = Schema.NullOr(Schema.Int)

// ---- images: upload and status (authenticated when keys are configured) ------------------------

export const UploadRequestBody = Schema.Struct({
  content_type: Schema.String.annotations({
    description: "The MIME type of the image to upload, e.g. image/jpeg.",
    examples: ["image/jpeg"],
    message: () => ({ message: "must be a string naming the MIME type, e.g. image/jpeg", override: true })
  }),
  content_length: Schema.Int.pipe(Schema.nonNegative()).annotations({
    description:
      "The exact size of the upload in bytes. 0 is accepted: the empty object is then rejected as empty_file, like any other bad upload.",
    examples: [245_760],
    message: () => ({ message: "must be a whole number of bytes (0 or more)", override: true })
  })
}).annotations({
  identifier: "UploadRequest",
  description: "What the client is about to upload.",
  examples: [{ content_type: "image/jpeg", content_length: 245_760 }],
  // Only for a body that is not an object at all; field problems keep their own messages.
  message: () => "The body must be a JSON object with content_type and content_length."
})

export const UploadTicketBody = Schema.Struct({
  image_id: ImageId,
  upload: Schema.Struct({
    method: Schema.Literal("PUT"),
    url: Schema.String.annotations({ description: "Presigned URL to PUT the bytes to." }),
    headers: Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
      description: "Headers the PUT must carry exactly (they are signed), e.g. content-type."
    })
  }),
  expires_at: IsoDate.annotations({ description: "When the upload URL stops working." })
}).annotations({
  identifier: "UploadTicket",
  description: "The image record was created: PUT the bytes to upload.url with upload.headers."
})

const OriginalView = Schema.Struct({
  content_type: Schema.String,
  bytes: NullableInt.annotations({ description: "Size of the stored original, once it arrived." }),
  width: NullableInt,
  height: NullableInt,
  format: Schema.NullOr(Schema.String).annotations({ description: "Real format found in the bytes, once probed." })
}).annotations({ identifier: "OriginalView" })

const RenditionView = Schema.Struct({
  status: RenditionStatus,
  width: NullableInt,
  height: NullableInt,
  bytes: NullableInt,
  content_type: Schema.NullOr(Schema.String)
}).annotations({ identifier: "RenditionView" })

export const ImageStatusBody = Schema.Struct({
  image_id: ImageId,
  status: ImageStatus,
  original: Schema.NullOr(OriginalView).annotations({ description: "null until the original has arrived." }),
  renditions: Schema.Struct({ small: RenditionView, medium: RenditionView, large: RenditionView }),
  error: Schema.optional(Schema.Struct({ code: FailureCode, message: Schema.String })).annotations({
    description: "Why the image (or one of its sizes) failed, when it did."
  }),
  created_at: IsoDate,
  updated_at: IsoDate
}).annotations({ identifier: "ImageStatus" })

/** `Authorization: Bearer <key>`; enforced only when `IMGPIPE_API_KEYS` is non-empty. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("Authorization", {
  failure: ErrorBody.Unauthorized,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "An API key from IMGPIPE_API_KEYS. Required only when keys are configured (an open local server needs none)."
      )
    )
  }
}) {}

export class ImagesGroup extends HttpApiGroup.make("images")
  .add(
    HttpApiEndpoint.post("upload", "/upload")
      .setPayload(UploadRequestBody)
      .addSuccess(UploadTicketBody, { status: 201 })
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.TooLarge)
      .addError(ErrorBody.UnsupportedType)
      .annotateContext(
        OpenApi.annotations({
          summary: "Start an upload",
          description:
            "Creates the image record and returns a presigned PUT URL (15 minutes) that pins the declared " +
            "content type and length. PUT the bytes there with the returned headers; processing starts when the upload completes."
        })
      )
  )
  .add(
    HttpApiEndpoint.get("status", "/images/:image_id")
      .setPath(Schema.Struct({ image_id: ImageIdParam }))
      .addSuccess(ImageStatusBody)
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.NotFound)
      .annotateContext(
        OpenApi.annotations({
          summary: "Image status",
          description: "The image's processing status, its original and each rendition."
        })
      )
  )
  .middleware(Authorization)
  .annotateContext(OpenApi.annotations({ title: "images", description: "Upload images and follow their processing." }))
{}

// ---- delivery: get_image (public, so `<img src>` works; ids are unguessable) --------------------

export const ServedImageBody = Schema.Struct({
  image_id: ImageId,
  requested_size: ImageSize,
  served_size: ServedSize.annotations({
    description: "What was served: the requested size, another ready size, or the original while processing."
  }),
  url: Schema.String.annotations({ description: "Signed URL of the image; valid until expires_at." }),
  content_type: Schema.String,
  width: NullableInt.annotations({ description: "null for an original not yet probed." }),
  height: NullableInt,
  bytes: NullableInt,
  expires_at: IsoDate
}).annotations({ identifier: "ServedImage" })

export const GetImageParams = Schema.Struct({ image_id: ImageIdParam, image_size: SizeParam })

/** Response headers of `get_image`, documented on the operation (the generator has no slot for them). */
const getImageHeaders = {
  "X-Image-Size": {
    description: "The size served: small, medium, large or original.",
    schema: { type: "string", enum: ["small", "medium", "large", "original"] }
  },
  "Cache-Control": {
    description:
      "`public, max-age=300` (at most a quarter of the URL's remaining lifetime) when the requested size was served; " +
      "`no-store` for a fallback, since the right size may be ready seconds later.",
    schema: { type: "string" }
  },
  Vary: { description: "Always `Accept`.", schema: { type: "string" } }
} as const

export class DeliveryGroup extends HttpApiGroup.make("delivery")
  .add(
    HttpApiEndpoint.get("getImage", "/get_image")
      .setUrlParams(GetImageParams)
      .setHeaders(
        Schema.Struct({
          accept: Schema.optional(Schema.String).annotations({
            description: "`application/json` to get the JSON description (200) instead of a redirect (302)."
          })
        })
      )
      .addSuccess(ServedImageBody)
      .addSuccess(
        HttpApiSchema.Empty(302).annotations({
          description: "Redirect to the image: Location is its signed URL, X-Image-Size names what was served."
        })
      )
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.NotFound)
      .addError(ErrorBody.Rejected)
      .annotateContext(
        OpenApi.annotations({
          summary: "Get an image in a size",
          description:
            "Redirects (302) to the requested size if ready; else to another ready size (smallest first); else to the " +
            "original while processing is unfinished. With `Accept: application/json` answers 200 with the same " +
            "information instead. Public: no API key needed.",
          transform: (operation) => withResponseHeaders(operation, { 200: getImageHeaders, 302: {
            Location: { description: "Signed URL of the image served.", schema: { type: "string" } },
            ...getImageHeaders
          } })
        })
      )
  )
  .annotateContext(OpenApi.annotations({ title: "delivery", description: "Serve images (public)." }))
{}

// ---- system: liveness and readiness ------------------------------------------------------------

export const HealthBody = Schema.Struct({ status: Schema.Literal("ok") }).annotations({ identifier: "HealthStatus" })

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(HealthBody)
      .annotateContext(OpenApi.annotations({ summary: "Liveness", description: "200 while the process serves HTTP." }))
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(HealthBody)
      .addError(ErrorBody.NotReady)
      .annotateContext(
        OpenApi.annotations({
          summary: "Readiness",
          description: "200 when the database answers and the process can open files, 503 otherwise."
        })
      )
  )
  .annotateContext(OpenApi.annotations({ title: "system", description: "Health checks." }))
{}

// ---- the API -------------------------------------------------------------------------------------

export class Api extends HttpApi.make("imgpipe")
  .add(ImagesGroup)
  .add(DeliveryGroup)
  .add(SystemGroup)
  // Any endpoint can meet a broken dependency or a bug.
  .addError(ErrorBody.InternalError)
  .addError(ErrorBody.Unavailable)
  .annotateContext(
    OpenApi.annotations({
      title: "imgpipe",
      version: "1.0.0",
      description:
        "Upload images through presigned URLs and get them back in three sizes (small, medium, large). " +
        "Errors are `{ \"error\": \"<code>\", \"message\": \"<text>\" }`.",
      // Relative: the document is served by the server it describes, whatever its public URL.
      servers: [{ url: "/", description: "This server" }],
      transform: (spec) => withExampleValues(documentServerRoutes(withoutFrameworkDecodeError(spec)))
    })
  )
{}
