import { Data, Effect, Match, Option } from "effect"
import { Settings } from "../config.js"
import type { Fingerprint } from "../domain/dedupe.js"
import {
  type DatabaseError,
  InvalidImage,
  type ObjectNotFound,
  type RejectionCode,
  type StorageError,
  TransientFailure
} from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageRecord, ProcessJob } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import { rawKey } from "../domain/sizes.js"
import type { RenditionOutcome } from "../observability/metrics.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage, type OriginalDisposition } from "../services/ObjectStorage.js"
import { dispatchWebhooks } from "./deliverWebhook.js"
import { copyFromDuplicate, fingerprintOf } from "./processDuplicate.js"
import { resizeAndStore } from "./resizeAndStore.js"

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
  /** The rendition was copied from an earlier upload of the same bytes (`from`) and recorded. */
  Copied: { readonly imageReady: boolean; readonly from: ImageId }
  /** The rendition already existed: a duplicated message. */
  AlreadyDone: {}
  /** The content was refused, recorded on the image for good; the message is done. */
  Rejected: { readonly code: RejectionCode }
  /** Nothing to do (no such image, or the image was already refused). */
  Skipped: { readonly reason: string }
}>
export const ProcessOutcome = Data.taggedEnum<ProcessOutcome>()

const OUTCOME_LABELS: Readonly<Record<ProcessOutcome["_tag"], RenditionOutcome>> = {
  Processed: "processed",
  Copied: "copied",
  AlreadyDone: "already_done",
  Rejected: "rejected",
  Skipped: "skipped"
}

/** The `outcome` label of `imgpipe_renditions_total` for a finished job. */
export const renditionOutcomeLabel = (outcome: ProcessOutcome): RenditionOutcome => OUTCOME_LABELS[outcome._tag]

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
 * Reads the original and fingerprints it; then copies the size from an earlier upload of the same
 * bytes (or refuses them as it was refused), else probes, resizes, writes and records the
 * rendition. Bad content fails with `InvalidImage` (an original over the upload limit included);
 * the rest of its failures are transient.
 */
const makeRendition = (job: ProcessJob, failedBefore: boolean) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const storage = yield* ObjectStorage
    const bytes = yield* storage.get({ bucket: "raw", key: job.raw_key, maxBytes: settings.maxUploadBytes }).pipe(
      Effect.catchTag("ObjectTooLarge", (e) =>
        new InvalidImage({ code: "file_too_large", message: `The upload is over the limit of ${e.limit} bytes.` }))
    )
    const fingerprint = yield* fingerprintOf(bytes)
    return yield* renderOrCopy(job, bytes, fingerprint).pipe(
      Effect.flatMap(({ after, copiedFrom }) =>
        finish(job, after, failedBefore, copiedFrom)
      ),
      Effect.catchTag("InvalidImage", (refusal) => reject(job, refusal, fingerprint))
    )
  })

/** The rendition recorded, copied (`copiedFrom`) or made here. */
const renderOrCopy = (job: ProcessJob, bytes: Uint8Array, fingerprint: Fingerprint) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    // Before the probe: a known-bad file costs one hash and this query.
    const match = yield* repo.findDuplicate({
      id: job.image_id,
      sha256: fingerprint.sha256,
      profile: fingerprint.renderProfile
    })
    if (Option.isSome(match) && match.value._tag === "Rejected") {
      const { code, imageId, message } = match.value
      yield* Effect.logInfo("refused as an earlier upload of the same bytes was").pipe(
        Effect.annotateLogs({ duplicate_of: imageId })
      )
      return yield* new InvalidImage({ code, message })
    }
    if (Option.isSome(match) && match.value._tag === "Ready") {
      const copied = yield* copyFromDuplicate(job, match.value, fingerprint)
      if (Option.isSome(copied)) return { after: copied.value, copiedFrom: Option.some(match.value.image.id) }
    }
    const after = yield* resizeAndStore(job, bytes, fingerprint)
    return { after, copiedFrom: Option.none<ImageId>() }
  })

/** After the rendition was recorded: webhooks once ready, the original's keeping or its mark. */
const finish = (job: ProcessJob, after: ImageRecord, failedBefore: boolean, copiedFrom: Option.Option<ImageId>) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const imageReady = after.status === "ready"
    // Terminal: its webhook row (if any) was written with the status; hand it to the queue (AWS).
    if (imageReady) {
      yield* dispatchWebhooks([job.image_id])
    }
    if (imageReady && !settings.keepOriginals && after.originalStored) {
      yield* removeOriginal(job.image_id)
    } else if (failedBefore) {
      yield* markOriginal(job, Option.none())
    }
    return Option.match(copiedFrom, {
      onNone: () => ProcessOutcome.Processed({ imageReady }),
      onSome: (from) => ProcessOutcome.Copied({ imageReady, from })
    })
  })

/**
 * The content was refused: recorded on the image for good (with the bytes' fingerprint when they
 * were read, so a later upload of them is refused alike), the original marked for expiry.
 */
const reject = (job: ProcessJob, refusal: InvalidImage, fingerprint?: Fingerprint) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    yield* repo.markRejected(job.image_id, { code: refusal.code, message: refusal.message }, fingerprint)
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
