import { Data, Effect, Option } from "effect"
import { Settings } from "../config.js"
import { type ImageId, parseImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { JobQueue } from "../services/JobQueue.js"

/** An object arrived in the raw bucket (S3 ObjectCreated, or the embedded storage's PUT). */
export interface ObjectCreated {
  readonly key: string
  readonly bytes: number
}

export type StartOutcome = Data.TaggedEnum<{
  /** Jobs were sent for the sizes not yet ready. */
  Started: { readonly sizes: ReadonlyArray<ImageSize> }
  /** The image is already ready or failed: a duplicated event, nothing to do. */
  AlreadyHandled: {}
  /** The key is not an image id, or no such image: skipped (logged). */
  Ignored: { readonly reason: string }
}>
export const StartOutcome = Data.taggedEnum<StartOutcome>()

/**
 * Marks the images `processing` with their real sizes and sends one job per size still missing,
 * for any number of notifications at once (an S3 event's records, or the embedded storage's
 * uploads of the last moment): one statement marks them all and one send carries every job.
 * At-least-once and duplicated events are fine: a repeat re-sends only the unfinished sizes of an
 * image that is still processing, and `processImage` is idempotent. Fails (so the events are
 * retried) only on infrastructure errors. Outcomes are in the order of `events`.
 *
 * The mark and the send are two steps: with a database queue (the embedded runner) run this inside
 * `sql.withTransaction` so that a failed send also undoes the mark and the image stays
 * `awaiting_upload`, where a retry or the resume sweep finds it.
 *
 * `resendUnfinished: false` (the resume sweep) only starts images still `awaiting_upload`: one
 * already `processing` was started by its own notification meanwhile, and gets no second set of jobs.
 */
export const startProcessingMany = (
  events: ReadonlyArray<ObjectCreated>,
  options: { readonly resendUnfinished?: boolean } = {}
) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const repo = yield* ImageRepository
    const queue = yield* JobQueue

    const ids = events.map((event) => parseImageId(event.key))
    const uploads = events.flatMap((event, i) => {
      const id = ids[i]
      return id !== undefined && Option.isSome(id) ? [{ id: id.value, bytes: event.bytes }] : []
    })
    const marks = new Map((yield* repo.markUploaded(uploads)).map((mark) => [mark.image.id as string, mark]))

    const jobs: Array<ProcessJob> = []
    const outcomes: Array<StartOutcome> = []
    for (const [i, event] of events.entries()) {
      const id = ids[i]
      if (id === undefined || Option.isNone(id)) {
        yield* Effect.logWarning("object key is not an image id; skipped").pipe(Effect.annotateLogs({ key: event.key }))
        outcomes.push(StartOutcome.Ignored({ reason: "key is not an image id" }))
        continue
      }
      const mark = marks.get(id.value)
      if (mark === undefined) {
        yield* Effect.logWarning("object has no image record; skipped").pipe(Effect.annotateLogs({ key: event.key }))
        outcomes.push(StartOutcome.Ignored({ reason: "no such image" }))
        continue
      }
      if (mark.image.status !== "processing" || (!mark.started && options.resendUnfinished === false)) {
        outcomes.push(StartOutcome.AlreadyHandled())
        continue
      }
      // Just started: no size can be ready yet. A repeat: send only what is not ready.
      const ready = mark.started ? new Set<ImageSize>() : yield* readySizes(id.value)
      const sizes = settings.sizeOrder.filter((size) => !ready.has(size))
      for (const size of sizes) jobs.push({ image_id: id.value, raw_key: event.key, size })
      outcomes.push(StartOutcome.Started({ sizes }))
    }
    yield* queue.send(jobs)
    yield* Effect.logDebug("processing started").pipe(Effect.annotateLogs({ images: outcomes.length, jobs: jobs.length }))
    return outcomes
  }).pipe(Effect.withSpan("startProcessing"))

/** The sizes of an image already recorded ready. */
const readySizes = (id: ImageId) =>
  Effect.flatMap(ImageRepository, (repo) => repo.find(id)).pipe(
    Effect.map((view) =>
      new Set(
        Option.match(view, {
          onNone: () => [],
          onSome: (v) => v.renditions.filter((r) => r.status === "ready").map((r) => r.size)
        })
      )
    )
  )

/** One notification: `startProcessingMany` with a single event. */
export const startProcessing = (event: ObjectCreated) =>
  startProcessingMany([event]).pipe(
    Effect.map((outcomes) => outcomes[0] ?? StartOutcome.Ignored({ reason: "no outcome" }))
  )
