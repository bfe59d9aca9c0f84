/**
 * Handlers of the `images` group: parse → core use case → map the result and the errors.
 */
import { HttpApiBuilder } from "@effect/platform"
import { getStatus, type ImageStatusView, requestUpload, toStatusJson, type UploadTicket } from "@imgpipe/core"
import { Effect, Option } from "effect"
import { Api } from "../Api.js"
import { unavailableOnInfrastructureError } from "../errorMapping.js"
import { BadRequest, InvalidCallbackUrl, NotFound, TooLarge, UnsupportedType } from "../errors.js"
import { normalizeId } from "../schemas.js"
import type { ImageStatusBody, UploadTicketBody } from "./Api.js"

const toUploadTicketBody = (ticket: UploadTicket): typeof UploadTicketBody.Type => ({
  image_id: ticket.imageId,
  upload: { method: ticket.upload.method, url: ticket.upload.url, headers: ticket.upload.headers },
  expires_at: ticket.expiresAt
})

const toImageStatusBody = ({ image, renditions, webhook }: ImageStatusView): typeof ImageStatusBody.Type =>
  toStatusJson({
    image,
    renditions: renditions.flatMap(({ rendition }) => Option.toArray(rendition)),
    webhook: webhook ?? null
  })

export const ImagesLive = HttpApiBuilder.group(Api, "images", (handlers) =>
  handlers
    .handle("upload", ({ payload }) =>
      requestUpload({
        contentType: payload.content_type,
        contentLength: payload.content_length,
        callbackUrl: payload.callback_url
      }).pipe(
        Effect.map(toUploadTicketBody),
        Effect.catchTags({
          InvalidRequest: (e) => Effect.fail(new BadRequest({ message: e.message })),
          PayloadTooLarge: (e) => Effect.fail(new TooLarge({ message: e.message })),
          UnsupportedMediaType: (e) => Effect.fail(new UnsupportedType({ message: e.message })),
          InvalidCallbackUrl: (e) => Effect.fail(new InvalidCallbackUrl({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      ))
    .handle("status", ({ path }) =>
      getStatus(normalizeId(path.image_id)).pipe(
        Effect.map(toImageStatusBody),
        Effect.catchTags({
          ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      )))
