import { Effect } from "effect"
import { Settings } from "../config.js"
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../domain/errors.js"
import { ACCEPTED_CONTENT_TYPES } from "../domain/formats.js"
import { type ImageId, newImageId } from "../domain/ids.js"
import { mediaType } from "../domain/rules.js"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage, type PresignedUpload } from "../services/ObjectStorage.js"

export interface UploadRequest {
  readonly contentType: string
  readonly contentLength: number
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
      uploadExpiresAt: upload.expiresAt
    })
    yield* Effect.annotateLogs(Effect.logDebug("upload requested"), { image_id: imageId, content_type: contentType })
    return { imageId, upload, expiresAt: upload.expiresAt } satisfies UploadTicket
  }).pipe(Effect.withSpan("requestUpload"))
