import { Context, type Effect, type Option } from "effect"
import type { Fingerprint } from "../domain/dedupe.js"
import type { DatabaseError, FailureCode, RejectionCode } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, ImageView, Placeholder, RenditionRecord, RenditionVariant } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"

/** A rendition that was written: the baseline (`key` …) and what goes with it. */
export interface RenditionOutput {
  readonly key: string
  readonly width: number
  readonly height: number
  readonly bytes: number
  readonly contentType: string
  /** The extra encodings stored beside the baseline; none when absent. */
  readonly variants?: ReadonlyArray<RenditionVariant>
  /** The image's placeholder, made by this job (the small size's); an absent one leaves the image's. */
  readonly placeholder?: Placeholder | null
  /** The earlier image this rendition was copied from (a duplicate upload); absent when resized. */
  readonly duplicateOf?: ImageId | null
}

export interface OriginalInfo {
  readonly format: string
  readonly contentType: string
  readonly width: number
  readonly height: number
  /** The original's SHA-256 and the profile it is processed under (the duplicate lookup's key). */
  readonly fingerprint?: Fingerprint
}

/**
 * An earlier image with the same bytes and render profile (`findDuplicate`): a ready one whose
 * renditions can be copied, or one refused for good whose refusal holds for the same bytes.
 */
export type DuplicateMatch =
  | {
    readonly _tag: "Ready"
    readonly image: ImageRecord
    readonly renditions: ReadonlyArray<RenditionRecord>
  }
  | {
    readonly _tag: "Rejected"
    readonly imageId: ImageId
    readonly code: RejectionCode
    readonly message: string
  }

/** What `markUploaded` did to one image. */
export interface UploadMark {
  readonly image: ImageRecord
  /** This call moved it from `awaiting_upload` to `processing`. */
  readonly started: boolean
}

/**
 * The image records. Every write is idempotent: repeating it with the same input leaves the same
 * records, so duplicated events and messages are harmless.
 */
export class ImageRepository extends Context.Tag("imgpipe/ImageRepository")<
  ImageRepository,
  {
    readonly create: (input: {
      readonly id: ImageId
      readonly declaredContentType: string
      readonly declaredBytes: number
      readonly uploadExpiresAt: Date
      /** Where its webhooks go (resolved at upload: the request's, else the stage-wide URL); none when absent. */
      readonly callbackUrl?: string | null
    }) => Effect.Effect<ImageRecord, DatabaseError>
    /** The image, its renditions and its latest webhook delivery's state. */
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
    /** What probing the real bytes found (format, dimensions after orientation), and their fingerprint. */
    readonly recordOriginal: (id: ImageId, info: OriginalInfo) => Effect.Effect<void, DatabaseError>
    /**
     * The earliest image other than `id` with the same SHA-256 and render profile that is `ready`
     * (with its renditions), else the earliest refused for good with a refusal that holds for the
     * same bytes (`REUSABLE_REJECTIONS`, domain/dedupe.ts); none otherwise. Images copied from `id`
     * are left out (a reprocessed original is made again, not copied back from its copies).
     */
    readonly findDuplicate: (input: {
      readonly id: ImageId
      readonly sha256: string
      readonly profile: string
    }) => Effect.Effect<Option.Option<DuplicateMatch>, DatabaseError>
    /**
     * A rendition was written (with its variants; the placeholder and `duplicateOf`, when given, go
     * on the image). Sets the image `ready` (and clears an earlier failure) once every size in
     * `allSizes` has a ready rendition. Returns the image as it stands after the call.
     */
    readonly recordRendition: (
      id: ImageId,
      size: ImageSize,
      output: RenditionOutput,
      allSizes: ReadonlyArray<ImageSize>
    ) => Effect.Effect<ImageRecord, DatabaseError>
    /**
     * The content was refused: the image becomes `failed` with the reason, for good. The
     * fingerprint, when the bytes were read, is kept so a later upload of them is refused alike.
     */
    readonly markRejected: (
      id: ImageId,
      failure: { readonly code: RejectionCode; readonly message: string },
      fingerprint?: Fingerprint
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

/** A `processing` image that made no progress for the stall window (see `ReconcileRepository`). */
export interface StalledImage {
  readonly id: ImageId
  /** Times the reconciler already re-sent its missing sizes. */
  readonly stallResends: number
  /** Sizes with a ready rendition. */
  readonly readySizes: ReadonlyArray<ImageSize>
}

/** A twice-stalled image to fail, with the sizes that never arrived. */
export interface StalledFailure {
  readonly id: ImageId
  readonly missing: ReadonlyArray<ImageSize>
  readonly message: string
}

/**
 * The image records as the reconciler (`usecases/reconcile.ts`) reads and writes them. Apart from
 * `ImageRepository` so the request path's services (and their test doubles) stay as they are.
 * Every query reads a bounded slice, and two reconcilers at once never claim the same image.
 * Times are the store's clock, one reading per transaction.
 */
export class ReconcileRepository extends Context.Tag("imgpipe/ReconcileRepository")<
  ReconcileRepository,
  {
    /**
     * Runs `effect` in one transaction: its writes are kept when it succeeds and undone when it
     * fails.
     */
    readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DatabaseError, R>
    /**
     * Up to `limit` `awaiting_upload` images whose upload URL expired more than `graceSeconds` ago,
     * oldest expiry first (read only: the reconciler first checks whether their object arrived).
     */
    readonly findExpirable: (input: {
      readonly graceSeconds: number
      readonly limit: number
    }) => Effect.Effect<ReadonlyArray<ImageId>, DatabaseError>
    /**
     * Those of `ids` still `awaiting_upload` become `expired`. Returns the ids this call changed, so
     * two reconcilers expiring the same ids count each once.
     */
    readonly expireUploads: (ids: ReadonlyArray<ImageId>) => Effect.Effect<ReadonlyArray<ImageId>, DatabaseError>
    /**
     * Claims (inside `transaction`) up to `limit` `processing` images whose last progress — the
     * image's last change (upload, probe, a claim) and its renditions' (each size recorded) — is
     * older than `stallSeconds`, least recent first, skipping images another transaction holds.
     */
    readonly lockStalled: (input: {
      readonly stallSeconds: number
      readonly limit: number
    }) => Effect.Effect<ReadonlyArray<StalledImage>, DatabaseError>
    /** Its missing sizes were re-sent: one more resend counted, the progress clock restarted. */
    readonly markResent: (ids: ReadonlyArray<ImageId>) => Effect.Effect<void, DatabaseError>
    /** Its jobs are still queued (a backlog, not a stall): the progress clock restarts. */
    readonly deferStalled: (ids: ReadonlyArray<ImageId>) => Effect.Effect<void, DatabaseError>
    /**
     * Stalled again after a resend: the image ends `failed` with `processing_failed` and the
     * message, and each missing size's rendition is recorded failed with the same reason. A
     * rendition that still arrives later clears it, as after a dead-lettered job.
     */
    readonly failStalled: (images: ReadonlyArray<StalledFailure>) => Effect.Effect<void, DatabaseError>
  }
>() {}
