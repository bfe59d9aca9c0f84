import { Effect, Option } from "effect"
import { Settings } from "../config.js"
import { WebhookSettings } from "../config/webhooks.js"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../domain/errors.js"
import { ACCEPTED_CONTENT_TYPES } from "../domain/formats.js"
import { type ImageId, newImageId } from "../domain/ids.js"
import { mediaType } from "../domain/rules.js"
import { rawKey } from "../domain/sizes.js"
import { InvalidCallbackUrl } from "../domain/webhook.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage, type PresignedUpload } from "../services/ObjectStorage.js"
import { checkDestination, NodeResolverLive, Resolver } from "../util/ssrf.js"

export interface UploadRequest {
  readonly contentType: string
  readonly contentLength: number
  /** Where this image's webhooks go instead of the stage-wide `IMGPIPE_WEBHOOK_URL`. */
  readonly callbackUrl?: string | undefined
}

export interface UploadTicket {
  readonly imageId: ImageId
  readonly upload: PresignedUpload
  readonly expiresAt: Date
}

const refusedTypes: Readonly<Record<string, string>> = {
  "image/svg+xml": "SVG is not accepted: it can carry scripts.",
  "image/heic": "HEIC is not accepted: convert to JPEG or AVIF before uploading.",
  "image/heif": "HEIF is not accepted: convert to JPEG or AVIF before uploading.",
  "image/heic-sequence": "HEIC is not accepted: convert to JPEG or AVIF before uploading.",
  "image/heif-sequence": "HEIF is not accepted: convert to JPEG or AVIF before uploading."
}

/**
 * Checks what the client declares, creates the image record (`awaiting_upload`) and hands out a
 * presigned PUT that pins the declared type and length, so storage refuses anything else.
 */
export const requestUpload = (input: UploadRequest) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage

    const contentType = mediaType(input.contentType)
    if (contentType.length === 0) {
      return yield* new InvalidRequest({ message: "content_type must name the image's MIME type, e.g. image/jpeg." })
    }
    if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
      return yield* new InvalidRequest({ message: "content_length must be a whole number of bytes (0 or more)." })
    }
    if (ACCEPTED_CONTENT_TYPES[contentType] === undefined) {
      return yield* new UnsupportedMediaType({
        contentType,
        message: refusedTypes[contentType] ??
          `${contentType} is not accepted. Accepted types: ${Object.keys(ACCEPTED_CONTENT_TYPES).join(", ")}.`
      })
    }
    if (input.contentLength > settings.maxUploadBytes) {
      return yield* new PayloadTooLarge({
        limit: settings.maxUploadBytes,
        message: `content_length ${input.contentLength} is over the limit of ${settings.maxUploadBytes} bytes.`
      })
    }

    const callbackUrl = yield* resolveCallbackUrl(input.callbackUrl)

    const imageId = yield* newImageId
    const upload = yield* storage.presignUpload({
      key: rawKey(imageId),
      contentType,
      contentLength: input.contentLength,
      expiresInSeconds: settings.uploadUrlTtlSeconds
    })
    // The record exists before the client can finish the PUT, so the notification always finds it.
    yield* repo.create({
      id: imageId,
      declaredContentType: contentType,
      declaredBytes: input.contentLength,
      uploadExpiresAt: upload.expiresAt,
      callbackUrl
    })
    yield* Effect.annotateLogs(Effect.logDebug("upload requested"), { image_id: imageId, content_type: contentType })
    return { imageId, upload, expiresAt: upload.expiresAt } satisfies UploadTicket
  }).pipe(Effect.withSpan("requestUpload"))

/**
 * The image's webhook destination, fixed now so a delivery never depends on a later change of the
 * settings: the request's `callback_url` (checked by the SSRF guard: https, public addresses only,
 * unless private destinations are allowed), else the stage-wide `IMGPIPE_WEBHOOK_URL` (the
 * operator's, checked again at each delivery like any other), else none. Webhooks are off without
 * `IMGPIPE_WEBHOOK_SECRET` (or where the runtime provides no webhook settings): a `callback_url`
 * is then refused rather than silently never called.
 */
const resolveCallbackUrl = (requested: string | undefined) =>
  Effect.gen(function* () {
    const webhooks = yield* Effect.serviceOption(WebhookSettings)
    const enabled = Option.filter(webhooks, (settings) => Option.isSome(settings.secret))
    if (requested === undefined) {
      return Option.flatMap(enabled, (settings) => settings.defaultUrl).pipe(Option.getOrNull)
    }
    if (Option.isNone(enabled)) {
      return yield* new InvalidCallbackUrl({
        message: "Webhooks are off on this server (IMGPIPE_WEBHOOK_SECRET is not set): callback_url cannot be used."
      })
    }
    const resolver = yield* Effect.serviceOption(Resolver)
    const url = yield* checkDestination(requested, { allowPrivate: enabled.value.allowPrivate }).pipe(
      Option.isSome(resolver) ? Effect.provideService(Resolver, resolver.value) : Effect.provide(NodeResolverLive),
      Effect.mapError((refused) => new InvalidCallbackUrl({ message: refused.message }))
    )
    return url.toString()
  })
