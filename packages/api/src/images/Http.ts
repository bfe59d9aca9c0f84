/**
 * Handlers of the `images` group: parse → core use case → map the result and the errors.
 */
import { HttpApiBuilder } from "@effect/platform"
import {
  getStatus,
  type ImageSize,
  type ImageStatusView,
  isRejected,
  requestUpload,
  type UploadTicket
} from "@imgpipe/core"
import { Effect, Option } from "effect"
import { Api } from "../Api.js"
import { unavailableOnInfrastructureError } from "../errorMapping.js"
import { BadRequest, NotFound, TooLarge, UnsupportedType } from "../errors.js"
import { normalizeId } from "../schemas.js"
import type { ImageStatusBody, UploadTicketBody } from "./Api.js"

const toUploadTicketBody = (ticket: UploadTicket): typeof UploadTicketBody.Type => ({
  image_id: ticket.imageId,
  upload: { method: ticket.upload.method, url: ticket.upload.url, headers: ticket.upload.headers },
  expires_at: ticket.expiresAt
})

const toImageStatusBody = ({ image, renditions }: ImageStatusView): typeof ImageStatusBody.Type => {
  // A rejected image never gets renditions: say "failed" rather than leave them "pending" forever.
  // (`processing_failed` is not final: a later redelivery may still produce the size.)
  const rejected = isRejected(image)
  const rendition = (size: ImageSize): typeof ImageStatusBody.Type["renditions"][ImageSize] => {
    const row = Option.getOrNull(
      renditions.find((r) => r.size === size)?.rendition ?? Option.none()
    )
    return row === null
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
    ...(image.errorCode === null
      ? {}
      : { error: { code: image.errorCode, message: image.errorMessage ?? "The image could not be processed." } }),
    created_at: image.createdAt,
    updated_at: image.updatedAt
  }
}

export const ImagesLive = HttpApiBuilder.group(Api, "images", (handlers) =>
  handlers
    .handle("upload", ({ payload }) =>
      requestUpload({ contentType: payload.content_type, contentLength: payload.content_length }).pipe(
        Effect.map(toUploadTicketBody),
        Effect.catchTags({
          InvalidRequest: (e) =>
            Effect.fail(new BadRequest({ message: e.message })),
          PayloadTooLarge: (e) => Effect.fail(new TooLarge({ message: e.message })),
          UnsupportedMediaType: (e) => Effect.fail(new UnsupportedType({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      ))
    .handle("status", ({ path }) =>
      getStatus(normalizeId(path.image_id)).pipe(
        Effect.map(toImageStatusBody),
        Effect.catchTags({
          ImageNotFound: (e) =>
            Effect.fail(new NotFound({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      )))
