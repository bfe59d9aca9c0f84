import { Context, type Effect, type Option } from "effect"
import type { DatabaseError, FailureCode, RejectionCode } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, ImageView } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"

export interface RenditionOutput {
  readonly key: string
  readonly width: number
  readonly height: number
  readonly bytes: number
  readonly contentType: string
}

export interface OriginalInfo {
  readonly format: string
  readonly contentType: string
  readonly width: number
  readonly height: number
}

/** What `markUploaded` did to one image. */
export interface UploadMark {
  readonly image: ImageRecord
  /** This call moved it from `awaiting_upload` to `processing`. */
  readonly started: boolean
}

/**
 * The image records (PostgreSQL). Every write is idempotent: repeating it with the same input
 * leaves the same rows, so duplicated events and messages are harmless.
 */
export class ImageRepository extends Context.Tag("imgpipe/ImageRepository")<
  ImageRepository,
  {
    readonly create: (input: {
      readonly id: ImageId
      readonly declaredContentType: string
      readonly declaredBytes: number
      readonly uploadExpiresAt: Date
    }) => Effect.Effect<ImageRecord, DatabaseError>
    readonly find: (id: ImageId) => Effect.Effect<Option.Option<ImageView>, DatabaseError>
    /**
     * Originals arrived (one statement for any number): each image `awaiting_upload` →
     * `processing` with its size in bytes; any other status is left alone. Returns, for each id that
     * has a record, the record as it stands after the call and whether this call started it (false
     * for a repeat: a duplicated notification). Ids without a record are left out.
     */
    readonly markUploaded: (
      uploads: ReadonlyArray<{ readonly id: ImageId; readonly bytes: number }>
    ) => Effect.Effect<ReadonlyArray<UploadMark>, DatabaseError>
    /** What probing the real bytes found (format, dimensions after orientation). */
    readonly recordOriginal: (id: ImageId, info: OriginalInfo) => Effect.Effect<void, DatabaseError>
    /**
     * A rendition was written. Sets the image `ready` (and clears an earlier failure) once every
     * size in `allSizes` has a ready rendition. Returns the image as it stands after the call.
     */
    readonly recordRendition: (
      id: ImageId,
      size: ImageSize,
      output: RenditionOutput,
      allSizes: ReadonlyArray<ImageSize>
    ) => Effect.Effect<ImageRecord, DatabaseError>
    /** The content was refused: the image becomes `failed` with the reason, for good. */
    readonly markRejected: (
      id: ImageId,
      failure: { readonly code: RejectionCode; readonly message: string }
    ) => Effect.Effect<void, DatabaseError>
    /** A size's job was dead-lettered after its retries: rendition and image say why. */
    readonly markRenditionFailed: (
      id: ImageId,
      size: ImageSize,
      failure: { readonly code: FailureCode; readonly message: string }
    ) => Effect.Effect<void, DatabaseError>
    /** The raw object was deleted after processing. */
    readonly markOriginalRemoved: (id: ImageId) => Effect.Effect<void, DatabaseError>
    /** Images whose upload may have arrived without its notification being handled. */
    readonly listAwaitingUpload: (limit: number) => Effect.Effect<ReadonlyArray<ImageRecord>, DatabaseError>
    /** A cheap round trip, for readiness. */
    readonly ping: Effect.Effect<void, DatabaseError>
  }
>() {}
