import { Array as Arr, Data, Effect, Option } from "effect"
import { Settings } from "../config.js"
import { type ImageId, parseImageId } from "../domain/ids.js"
import type { ProcessJob } from "../domain/image.js"
import type { ImageSize } from "../domain/sizes.js"
import { recordUploads } from "../observability/metrics.js"
import { withTraceparent } from "../observability/traceContext.js"
import { ImageRepository, type UploadMark } from "../services/ImageRepository.js"
import { JobQueue } from "../services/JobQueue.js"

/** An object arrived in the raw bucket (S3 ObjectCreated, or the embedded storage's PUT). */
export interface ObjectCreated {
  readonly key: string
  readonly bytes: number
  /**
   * W3C trace context of the upload that stored the object, when known (the embedded storage's
   * PUT request; S3 events carry none). With it, the image's jobs continue that trace.
   */
  readonly traceparent?: string | undefined
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
    const repo = yield* ImageRepository
    const queue = yield* JobQueue

    const parsed = events.map((event) => ({ event, id: parseImageId(event.key) }))
    const uploads = Arr.filterMap(parsed, ({ event, id }) => Option.map(id, (id) => ({ id, bytes: event.bytes })))
    const marks = new Map((yield* repo.markUploaded(uploads)).map((mark) => [mark.image.id, mark] as const))

    const decisions = yield* Effect.forEach(parsed, ({ event, id }) =>
      Option.match(id, {
        onNone: () => ignore(event, "object key is not an image id; skipped", "key is not an image id"),
        onSome: (id) =>
          Option.match(Option.fromNullable(marks.get(id)), {
            onNone: () => ignore(event, "object has no image record; skipped", "no such image"),
            onSome: (mark) => decide(event, mark, options.resendUnfinished !== false)
          })
      }))
    const jobs = decisions.flatMap((decision) => decision.jobs)
    if (events.some((event) => event.traceparent !== undefined)) {
      // Traced uploads: each image's jobs are sent from a span in its upload's trace, so the job
      // messages carry that trace on to the workers (a send per image, only while tracing is on).
      yield* Effect.forEach(
        decisions,
        (decision, index) =>
          decision.jobs.length === 0 ? Effect.void : queue.send(decision.jobs).pipe(
            Effect.withSpan("startProcessing.send", {
              kind: "producer",
              attributes: { "imgpipe.image_id": decision.jobs[0]?.image_id, "imgpipe.jobs": decision.jobs.length }
            }),
            withTraceparent(events[index]?.traceparent)
          ),
        { discard: true }
      )
    } else {
      yield* queue.send(jobs)
    }
    yield* Effect.logDebug("processing started").pipe(
      Effect.annotateLogs({ images: decisions.length, jobs: jobs.length })
    )
    const outcomes = decisions.map((decision) => decision.outcome)
    yield* recordUploads("started", outcomes.filter(StartOutcome.$is("Started")).length)
    yield* recordUploads("already_handled", outcomes.filter(StartOutcome.$is("AlreadyHandled")).length)
    yield* recordUploads("ignored", outcomes.filter(StartOutcome.$is("Ignored")).length)
    return outcomes
  }).pipe(Effect.withSpan("startProcessing"))

/** What one notification comes to: its outcome and the jobs it sends. */
interface Decision {
  readonly outcome: StartOutcome
  readonly jobs: ReadonlyArray<ProcessJob>
}

const ignore = (event: ObjectCreated, log: string, reason: string): Effect.Effect<Decision> =>
  Effect.logWarning(log).pipe(
    Effect.annotateLogs({ key: event.key }),
    Effect.as({ outcome: StartOutcome.Ignored({ reason }), jobs: [] })
  )

/**
 * An image the notification found: just started, it gets every size; a repeat of one still
 * processing gets the sizes not ready yet (unless `resendUnfinished` is off); any other is done.
 */
const decide = (event: ObjectCreated, mark: UploadMark, resendUnfinished: boolean) =>
  Effect.gen(function* () {
    if (mark.image.status !== "processing" || (!mark.started && !resendUnfinished)) {
      return { outcome: StartOutcome.AlreadyHandled(), jobs: [] } satisfies Decision
    }
    const settings = yield* Settings
    // Just started: no size can be ready yet. A repeat: send only what is not ready.
    const ready = mark.started ? new Set<ImageSize>() : yield* readySizes(mark.image.id)
    const sizes = settings.sizeOrder.filter((size) => !ready.has(size))
    return {
      outcome: StartOutcome.Started({ sizes }),
      jobs: sizes.map((size): ProcessJob => ({ image_id: mark.image.id, raw_key: event.key, size }))
    } satisfies Decision
  })

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
