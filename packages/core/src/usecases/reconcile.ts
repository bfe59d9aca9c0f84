import { Duration, Effect, Option } from "effect"
import { ReconcileSettings, Settings } from "../config.js"
import type { ProcessJob } from "../domain/image.js"
import { type ImageSize, rawKey } from "../domain/sizes.js"
import { ReconcileRepository, type StalledImage } from "../services/ImageRepository.js"
import { JobQueue } from "../services/JobQueue.js"
import { dispatchWebhooks, redispatchWebhooks } from "./deliverWebhook.js"
import { checkStoredUploads } from "./resumeUploads.js"
import { startProcessingMany } from "./startProcessing.js"

/** What one run changed. */
export interface ReconcileCounts {
  /** `awaiting_upload` → `expired`. */
  readonly expired: number
  /**
   * Past the expiry but their object is stored: the notification was lost (dropped, or left in
   * the ingest dead-letter queue), so they are started now instead of expired.
   */
  readonly arrived: number
  /** Stalled once: missing sizes sent again. */
  readonly resent: number
  /** Stalled again after a resend: `failed` / `processing_failed`. */
  readonly failed: number
  /** Past the stall window but with jobs still queued (embedded queue only): left alone. */
  readonly backlogged: number
}

const stalledMessage = (stall: Duration.Duration, missing: ReadonlyArray<ImageSize>) =>
  `Processing stalled twice: no progress for ${Math.round(Duration.toSeconds(stall))} s, then again after ` +
  `its missing sizes (${missing.join(", ")}) were sent once more.`

/**
 * Heals what at-least-once queues and events leave behind (SYSTEM.md, "Reconciliation"):
 *
 * 1. `awaiting_upload` images whose upload URL expired more than the grace ago: if their object is
 *    stored after all (a notification lost, or waiting in a dead-letter queue) they are started as
 *    the notification would have started them; otherwise they become `expired`. One HEAD per
 *    upload that never arrived, once.
 * 2. `processing` images with no progress for the stall window, in one transaction: those whose
 *    jobs are still on the queue (the embedded queue can tell) are backlogged and only get their
 *    clock restarted; those never re-sent are claimed (resend counted, clock restarted) and their
 *    missing sizes sent again; those re-sent before end `failed` with `processing_failed`.
 *    The claim and the send commit together: with the embedded queue the jobs are rows of the same
 *    transaction, with SQS a failed send rolls the claim back (a send that succeeded before a
 *    failed COMMIT is a duplicate, which processing tolerates).
 *
 * Bounded (`batchLimit` rows of each kind per run), idempotent, and safe when two runs overlap:
 * every row is locked `FOR UPDATE SKIP LOCKED`, so each is changed by one run only.
 */
export const reconcile = Effect.gen(function* () {
  const windows = yield* ReconcileSettings
  const limit = windows.batchLimit

  const { arrived, expired } = yield* expireOrStart({ graceSeconds: Duration.toSeconds(windows.expireGrace), limit })

  const repo = yield* ReconcileRepository
  const { failedIds, ...stalled } = yield* repo.transaction(resendOrFailStalled({ stall: windows.stall, limit }))
  // Their webhook rows committed with the transitions: hand them to the queue (AWS), then any
  // left undispatched by an earlier crash or failed send.
  yield* dispatchWebhooks([...expired.ids, ...failedIds])
  // (It logs what it sent; a failure waits for the next run.)
  yield* redispatchWebhooks(limit).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning("reconcile: webhook redispatch failed; next run").pipe(
        Effect.annotateLogs({ error: error.message })
      )
    )
  )

  const counts: ReconcileCounts = { expired: expired.count, arrived, ...stalled }
  yield* (counts.expired + counts.arrived + counts.resent + counts.failed + counts.backlogged > 0
    ? Effect.logInfo
    : Effect.logDebug)(
      "reconcile: done"
    ).pipe(Effect.annotateLogs({ ...counts }))
  return counts
}).pipe(Effect.withSpan("reconcile"))

/**
 * Step 2 (run in one transaction): the `processing` images past the stall window. Backlogged ones
 * get their clock restarted, the ones never re-sent get their missing sizes sent again, the ones
 * re-sent before fail.
 */
const resendOrFailStalled = (input: { readonly stall: Duration.Duration; readonly limit: number }) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ReconcileRepository
    const queue = yield* JobQueue
    const images = yield* repo.lockStalled({ stallSeconds: Duration.toSeconds(input.stall), limit: input.limit })
    if (images.length === 0) return { resent: 0, failed: 0, backlogged: 0, failedIds: [] }

    const live = yield* queue.imagesWithLiveJobs(images.map((image) => image.id))
    const isLive = (image: StalledImage) => Option.isSome(live) && live.value.has(image.id)
    const missing = (image: StalledImage) => settings.sizeOrder.filter((size) => !image.readySizes.includes(size))

    const backlogged = images.filter(isLive)
    const resend = images.filter((image) => !isLive(image) && image.stallResends === 0)
    const fail = images.filter((image) => !isLive(image) && image.stallResends > 0)

    const jobs: Array<ProcessJob> = resend.flatMap((image) =>
      missing(image).map((size): ProcessJob => ({ image_id: image.id, raw_key: rawKey(image.id), size }))
    )
    yield* repo.deferStalled(backlogged.map((image) => image.id))
    yield* repo.markResent(resend.map((image) => image.id))
    yield* queue.send(jobs)
    yield* repo.failStalled(
      fail.map((image) => ({
        id: image.id,
        missing: missing(image),
        message: stalledMessage(input.stall, missing(image))
      }))
    )
    if (resend.length + fail.length > 0) {
      yield* Effect.logWarning("reconcile: stalled images").pipe(
        Effect.annotateLogs({
          resent: resend.map((image) => image.id),
          failed: fail.map((image) => image.id)
        })
      )
    }
    return {
      resent: resend.length,
      failed: fail.length,
      backlogged: backlogged.length,
      failedIds: fail.map((image) => image.id)
    }
  })

/** How many HEAD requests the expiry check has in flight at once. */
const HEAD_CONCURRENCY = 16

/**
 * Step 1: the uploads past their expiry and grace. A stored object means the upload did arrive
 * and only its notification was lost: start it (in one transaction, so that with the embedded
 * queue the mark and the jobs commit together; `resendUnfinished: false`, so a second reconciler
 * or a late notification starting it at the same moment sends its jobs once). The rest expire.
 */
const expireOrStart = (input: { readonly graceSeconds: number; readonly limit: number }) =>
  Effect.gen(function* () {
    const repo = yield* ReconcileRepository
    const candidates = yield* repo.findExpirable(input)
    const { missing, stored } = yield* checkStoredUploads(candidates, HEAD_CONCURRENCY)
    const outcomes = stored.length === 0
      ? []
      : yield* repo.transaction(startProcessingMany(stored, { resendUnfinished: false }))
    const expired = yield* repo.expireUploads(missing)
    if (stored.length > 0) {
      yield* Effect.logWarning("reconcile: uploads stored but never started (notification lost); started now").pipe(
        Effect.annotateLogs({ images: stored.map((event) => event.key) })
      )
    }
    return {
      expired: { count: expired.length, ids: expired },
      arrived: outcomes.filter((outcome) => outcome._tag === "Started").length
    }
  })
