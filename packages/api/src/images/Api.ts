/**
 * The `images` group: start an upload, follow an image's processing. Authenticated with a bearer
 * key when keys are configured (the check itself is `authorization.ts`).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { ImageId } from "@imgpipe/core/domain/ids"
import { ImageStatusJson } from "@imgpipe/core/domain/statusJson"
import { Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { ImageIdParam, IsoDate } from "../schemas.js"

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
  }),
  callback_url: Schema.optional(
    Schema.String.pipe(Schema.maxLength(2048)).annotations({
      description: "Where to POST this image's signed webhook when it reaches a terminal status (image.ready, " +
        "image.failed, image.expired); replaces the server's IMGPIPE_WEBHOOK_URL for this image. https only, and " +
        "never a loopback, private or link-local destination (refused with 400 invalid_callback_url). See docs/webhooks.md.",
      examples: ["https://app.example.com/hooks/imgpipe"],
      message: () => ({ message: "must be an https URL of at most 2048 characters", override: true })
    })
  )
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

/** The status JSON, shared with the events, the webhooks and the admin listing (`@imgpipe/core`). */
export const ImageStatusBody = ImageStatusJson

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
      .addError(ErrorBody.InvalidCallbackUrl)
      .addError(ErrorBody.TooLarge)
      .addError(ErrorBody.UnsupportedType)
      .annotateContext(
        OpenApi.annotations({
          summary: "Start an upload",
          description: "Creates the image record and returns a presigned PUT URL (15 minutes) that pins the declared " +
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
