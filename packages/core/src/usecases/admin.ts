/**
 * The operator's use cases behind the admin API: list images by status and age, reprocess one,
 * read the queues' statistics, redrive the dead-letter queue. The same code in AWS and in the
 * embedded runner; only the services' layers differ.
 */
import { Effect, Option, Schema } from "effect"
import { Settings } from "../config.js"
import { ImageNotFound } from "../domain/errors.js"
import { type ImageId, parseImageId } from "../domain/ids.js"
import type { ImageRecord, ImageStatus, ImageView, ProcessJob } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import { type ImageSize, rawKey } from "../domain/sizes.js"
import { AdminRepository } from "../services/AdminRepository.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { JobQueue } from "../services/JobQueue.js"
import { QueueAdmin } from "../services/QueueAdmin.js"

export const LIST_DEFAULT_LIMIT = 50
export const LIST_MAX_LIMIT = 500

/** The cursor is not one this server handed out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  message: Schema.String
}) {}

/** The image cannot be reprocessed as it stands (no stored original, or its content was refused). */
export class ReprocessRefused extends Schema.TaggedError<ReprocessRefused>()("ReprocessRefused", {
  imageId: Schema.String,
  message: Schema.String
}) {}

// ---- listing ------------------------------------------------------------------------------------

const CURSOR_PREFIX = "after:"

/** Opaque to clients: the last id of the page, base64url-encoded (the order is by id, UUIDv7). */
export const encodeCursor = (id: ImageId): string => Buffer.from(`${CURSOR_PREFIX}${id}`, "utf8").toString("base64url")

export const decodeCursor = (cursor: string): Effect.Effect<ImageId, InvalidCursor> => {
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  const id = text.startsWith(CURSOR_PREFIX) ? parseImageId(text.slice(CURSOR_PREFIX.length)) : Option.none()
  return Option.match(id, {
    onNone: () => Effect.fail(new InvalidCursor({ message: "cursor must be a next_cursor from a previous page" })),
    onSome: Effect.succeed
  })
}

export interface ListImagesInput {
  readonly status?: ImageStatus | undefined
  readonly olderThanSeconds?: number | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface ImagePage {
  readonly images: ReadonlyArray<ImageView>
  /** `null` on the last page. */
  readonly nextCursor: string | null
}

/**
 * One page of images, oldest first (by id: UUIDv7 ids are in creation order), filtered by status
 * and by the age of their last change. Reads one more than the page to know whether another follows.
 */
export const listImages = (input: ListImagesInput) =>
  Effect.gen(function* () {
    const admin = yield* AdminRepository
    const after = input.cursor === undefined ? undefined : yield* decodeCursor(input.cursor)
    const limit = Math.min(LIST_MAX_LIMIT, Math.max(1, Math.floor(input.limit ?? LIST_DEFAULT_LIMIT)))
    const rows = yield* admin.listImages({
      status: input.status,
      olderThanSeconds: input.olderThanSeconds,
      after,
      limit: limit + 1
    })
    const images = rows.slice(0, limit)
    const last = images.at(-1)
    return {
      images,
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.image.id) : null
    } satisfies ImagePage
  }).pipe(Effect.withSpan("admin.listImages"))

// ---- reprocess ----------------------------------------------------------------------------------

/** Why an image cannot be made again from its original, if it cannot. */
const refusal = (image: ImageRecord): Option.Option<string> => {
  if (image.status === "awaiting_upload" || image.status === "expired") {
    return Option.some(`The image has no original (status ${image.status}): nothing to reprocess.`)
  }
  if (isRejected(image)) {
    return Option.some(
      `The image's content was refused (${image.errorCode}); reprocessing would refuse it again.`
    )
  }
  if (!image.originalStored) {
    return Option.some(
      "The original was removed after processing (IMGPIPE_KEEP_ORIGINALS=false): nothing to reprocess."
    )
  }
  return Option.none()
}

/**
 * Makes `sizes` of an image again from its stored original: default, the sizes not ready (every
 * size when all are). The image goes back to `processing` without its error, those sizes' ready
 * renditions are removed (failed ones stay until made), and one job per size goes through the
 * queue, the same message as `startProcessing` sends. Refused (`ReprocessRefused`) when no original is stored or its content was refused: the
 * same bytes would be refused again.
 *
 * Reopening and sending are two steps: when the send fails, the image is left `processing` with
 * the sizes missing, and the reconciler re-sends them after the stall window.
 */
export const reprocessImage = (id: ImageId, requested?: ReadonlyArray<ImageSize>) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const admin = yield* AdminRepository
    const queue = yield* JobQueue
    const settings = yield* Settings

    const found = yield* repo.find(id)
    if (Option.isNone(found)) return yield* new ImageNotFound({ imageId: id, message: "No image has this id." })
    const { image, renditions } = found.value
    const refused = refusal(image)
    if (Option.isSome(refused)) return yield* new ReprocessRefused({ imageId: id, message: refused.value })

    const ready = new Set(renditions.filter((r) => r.status === "ready").map((r) => r.size))
    const wanted = requested === undefined
      ? settings.sizeOrder.filter((size) => !ready.has(size))
      : settings.sizeOrder.filter((size) => requested.includes(size))
    const sizes = wanted.length === 0 ? settings.sizeOrder : wanted

    const reopened = yield* admin.reopenForReprocess(id, sizes)
    if (Option.isNone(reopened)) {
      return yield* new ReprocessRefused({ imageId: id, message: "The image changed meanwhile; look at it again." })
    }
    yield* queue.send(sizes.map((size): ProcessJob => ({ image_id: id, raw_key: rawKey(id), size })))
    yield* Effect.logInfo("image reprocessing").pipe(Effect.annotateLogs({ image_id: id, sizes: sizes.join(",") }))
    return reopened.value
  }).pipe(Effect.withSpan("admin.reprocessImage", { attributes: { image_id: id } }))

// ---- queues -------------------------------------------------------------------------------------

export const queueStats = Effect.flatMap(QueueAdmin, (admin) => admin.stats).pipe(Effect.withSpan("admin.queueStats"))

export const redriveDeadLetters = Effect.flatMap(QueueAdmin, (admin) => admin.redrive).pipe(
  Effect.tap((results) =>
    Effect.logInfo("dead-letter redrive").pipe(
      Effect.annotateLogs({
        redrives: results.map((r) => `${r.queue}:${r.messages ?? "?"}${r.taskHandle === null ? "" : " (task)"}`)
          .join(",")
      })
    )
  ),
  Effect.withSpan("admin.redriveDeadLetters")
)
