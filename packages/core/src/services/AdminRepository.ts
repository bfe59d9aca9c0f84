import { Context, type Effect, type Option } from "effect"
import type { DatabaseError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageStatus, ImageView } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"

/** One page of the admin listing: images by id (UUIDv7, so by creation time), after `after`. */
export interface ImageListQuery {
  readonly status: ImageStatus | undefined
  /** Only images whose last change (`updated_at`) is at least this many seconds ago (the store's clock). */
  readonly olderThanSeconds: number | undefined
  /** Only images with an id greater than this one (keyset pagination). */
  readonly after: ImageId | undefined
  readonly limit: number
}

/**
 * The image records as the admin use cases (`usecases/admin.ts`) read and write them. Apart from
 * `ImageRepository` so the request path's services (and their test doubles) stay as they are.
 */
export class AdminRepository extends Context.Tag("imgpipe/AdminRepository")<
  AdminRepository,
  {
    /** Up to `limit` images matching the query, ascending by id, each with its renditions. */
    readonly listImages: (query: ImageListQuery) => Effect.Effect<ReadonlyArray<ImageView>, DatabaseError>
    /**
     * Reprocessing starts: when the image still has a stored original and its content was not
     * refused (status `processing`, `ready`, or `failed` with `processing_failed`), it becomes
     * `processing` with no error and the ready renditions of `sizes` are removed (to be made
     * again; a failed one stays until its size is made, so that `processImage` still knows the
     * original was marked for expiry and unmarks it), in one transaction. Returns the image as it stands after, or `None` when it did not qualify
     * (no such image, no stored original, refused, not uploaded or expired).
     */
    readonly reopenForReprocess: (
      id: ImageId,
      sizes: ReadonlyArray<ImageSize>
    ) => Effect.Effect<Option.Option<ImageView>, DatabaseError>
  }
>() {}
