import { Data, Effect, Match, Option } from "effect"
import { Settings } from "../config.js"
import {
  type DatabaseError,
  InvalidImage,
  type ObjectNotFound,
  type RejectionCode,
  type StorageError,
  TransientFailure
} from "../domain/errors.js"
import { RENDITION_CACHE_CONTROL } from "../domain/formats.js"
import type { ImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import { rawKey, renditionKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage, type OriginalDisposition } from "../services/ObjectStorage.js"
import { Resizer } from "../services/Resizer.js"
import { dispatchWebhooks } from "./deliverWebhook.js"

export interface ProcessInput {
  readonly job: ProcessJob
  /** How many times the queue has delivered this message, this delivery included. */
  readonly receiveCount: number
  /** The queue's redrive limit: the delivery that reaches it is the last one. */
  readonly maxReceives: number
}

export type ProcessOutcome = Data.TaggedEnum<{
  /** The rendition was written and recorded. */
  Processed: { readonly imageReady: boolean }
  /** The rendition already existed: a duplicated message. */
  AlreadyDone: {}
  /** The content was refused, recorded on the image for good; the message is done. */
  Rejected: { readonly code: RejectionCode }
  /** Nothing to do (no such image, or the image was already refused). */
  Skipped: { readonly reason: string }
}>
export const ProcessOutcome = Data.taggedEnum<ProcessOutcome>()

/**
 * Makes one size of one image. Permanent problems with the content are recorded and end the job;
 * infrastructure problems fail with `TransientFailure` so the queue delivers the message again.
 * On the last delivery the failure is also recorded on the image, so it says why before the
 * message moves to the dead-letter queue.
 */
export const processImage = (input: ProcessInput) => {
  const { job } = input
  return Effect.gen(function* () {
    const repo = yield* ImageRepository
    const found = yield* repo.find(job.image_id)
    if (Option.isNone(found)) {
      yield* Effect.logWarning("job for an unknown image; dropped")
      return ProcessOutcome.Skipped({ reason: "no such image" })
    }
    const { image, renditions } = found.value
    if (renditions.some((r) => r.size === job.size && r.status === "ready")) {
      return ProcessOutcome.AlreadyDone()
    }
    if (isRejected(image)) {
      // Again (idempotent, cheap): the job that refused the image may have failed to mark it.
      yield* markOriginal(job, Option.some("refused"))
      return ProcessOutcome.Skipped({ reason: `image was rejected: ${image.errorCode}` })
    }
    // A job that failed for good before (dead-lettered, now redriven or re-sent) marked the
    // original for expiry. When it succeeds now the mark goes, even if another size is still
    // missing: keeping an original too long costs little, expiring one a ready image needs loses it.
    const failedBefore = image.errorCode === "processing_failed" ||
      renditions.some((r) => r.size === job.size && r.status === "failed")
    return yield* makeRendition(job, failedBefore).pipe(
      Effect.catchTag("InvalidImage", (refusal) => reject(job, refusal))
    )
  }).pipe(
    Effect.catchAll((failure) => giveUpOrRetry(input, describeTransient(failure))),
    // A bug or a library throwing must not take the worker down or lose the job: retry it like
    // any other transient failure, so it ends in the dead-letter queue with the reason.
    Effect.catchAllDefect((defect) => giveUpOrRetry(input, `unexpected error: ${String(defect)}`)),
    Effect.annotateLogs({ image_id: job.image_id, size: job.size, receive_count: input.receiveCount }),
    Effect.withSpan("processImage", { attributes: { image_id: job.image_id, size: job.size } })
  )
}

/**
 * Reads the original, probes and records it, resizes, writes the rendition and records it. Bad
 * content fails with `InvalidImage` (an original over the upload limit included); the rest of
 * its failures are transient.
 */
const makeRendition = (job: ProcessJob, failedBefore: boolean) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage
    const resizer = yield* Resizer
    const imageId = job.image_id

    const bytes = yield* storage.get({ bucket: "raw", key: job.raw_key, maxBytes: settings.maxUploadBytes }).pipe(
      Effect.catchTag("ObjectTooLarge", (e) =>
        new InvalidImage({ code: "file_too_large", message: `The upload is over the limit of ${e.limit} bytes.` }))
    )
    const info = yield* resizer.probe(bytes)
    yield* repo.recordOriginal(imageId, {
      format: info.format,
      contentType: info.contentType,
      width: info.width,
      height: info.height
    })
    const output = yield* resizer.resize(bytes, settings.sizes[job.size])

    const key = renditionKey(imageId, job.size)
    yield* storage.put({
      bucket: "processed",
      key,
      body: output.data,
      contentType: output.contentType,
      cacheControl: RENDITION_CACHE_CONTROL
    })
    const after = yield* repo.recordRendition(
      imageId,
      job.size,
      {
        key,
        width: output.width,
        height: output.height,
        bytes: output.data.byteLength,
        contentType: output.contentType
      },
      settings.sizeOrder
    )
    const imageReady = after.status === "ready"
    // Terminal: its webhook row (if any) was written with the status; hand it to the queue (AWS).
    if (imageReady) {
      yield* dispatchWebhooks([imageId])
    }
    if (imageReady && !settings.keepOriginals && after.originalStored) {
      yield* removeOriginal(imageId)
    } else if (failedBefore) {
      yield* markOriginal(job, Option.none())
    }
    return ProcessOutcome.Processed({ imageReady })
  })

/** The content was refused: recorded on the image for good, the original marked for expiry. */
const reject = (job: ProcessJob, refusal: InvalidImage) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    yield* repo.markRejected(job.image_id, { code: refusal.code, message: refusal.message })
    yield* dispatchWebhooks([job.image_id])
    yield* Effect.logInfo("image rejected").pipe(Effect.annotateLogs({ code: refusal.code, reason: refusal.message }))
    yield* markOriginal(job, Option.some("refused"))
    return ProcessOutcome.Rejected({ code: refusal.code })
  })

/** Every size is ready and originals are not kept: the raw object goes. */
const removeOriginal = (imageId: ImageId) =>
  Effect.gen(function* () {
    const storage = yield* ObjectStorage
    const repo = yield* ImageRepository
    yield* storage.delete("raw", rawKey(imageId))
    yield* repo.markOriginalRemoved(imageId)
  })

/** What a transient failure says in the image's record and the logs. */
const describeTransient: (failure: StorageError | ObjectNotFound | DatabaseError) => string = Match.typeTags<
  StorageError | ObjectNotFound | DatabaseError
>()({
  StorageError: (e) => `storage ${e.operation} failed: ${e.message}`,
  ObjectNotFound: (e) => `the original ${e.bucket}/${e.key} is missing`,
  DatabaseError: (e) => `database ${e.operation} failed: ${e.message}`
})

/**
 * Marks the original for the raw bucket's lifecycle (refused / dead-lettered expire, see
 * packages/infra/storage.ts), or clears the mark. Best effort: the outcome of the job does not
 * depend on it, and a failure only leaves one original for longer; it is logged.
 */
const markOriginal = (job: ProcessJob, disposition: Option.Option<OriginalDisposition>) =>
  Effect.flatMap(ObjectStorage, (storage) => storage.markOriginal(job.raw_key, disposition)).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning("could not mark the original for expiry").pipe(
        Effect.annotateLogs({ disposition: Option.getOrElse(disposition, () => "none"), reason: error.message })
      )
    )
  )

/** A transient failure: record it on the image if this was the last delivery, then fail the job. */
const giveUpOrRetry = (input: ProcessInput, reason: string) =>
  Effect.gen(function* () {
    const { job } = input
    if (input.receiveCount >= input.maxReceives) {
      const repo = yield* ImageRepository
      yield* repo
        .markRenditionFailed(job.image_id, job.size, {
          code: "processing_failed",
          message: `Gave up on the ${job.size} size after ${input.receiveCount} attempts: ${reason}`
        })
        .pipe(
          Effect.zipRight(dispatchWebhooks([job.image_id])),
          Effect.catchAll((e) => Effect.logError("could not record the final failure", e))
        )
      // The original stays until a redrive could no longer come (the DLQ's retention), then expires.
      yield* markOriginal(job, Option.some("dead-lettered"))
      yield* Effect.logError("job failed for the last time; it goes to the dead-letter queue").pipe(
        Effect.annotateLogs({ reason })
      )
    } else {
      yield* Effect.logWarning("job failed; the queue will retry it").pipe(Effect.annotateLogs({ reason }))
    }
    return yield* new TransientFailure({ imageId: job.image_id, size: job.size, message: reason })
  })
