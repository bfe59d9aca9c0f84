/**
 * StartProcessing: the raw bucket's ObjectCreated notifications → core `startProcessingMany`, once
 * per invocation (one statement marks every image of the batch, one send per size queue carries
 * up to 10 jobs). S3 delivers at least once and may repeat records; the use case is idempotent,
 * so a repeat only re-sends sizes that are still unfinished.
 *
 * Two event shapes, one function:
 * - **SQS** (AWS): S3 posts each notification to the ingest queue `image-uploaded-<stage>`, whose
 *   event source mapping hands StartProcessing batches of messages with `ReportBatchItemFailures`
 *   on. The answer `{ batchItemFailures }` names the messages whose uploads could not be started
 *   (database or SQS down): SQS delivers them again after the visibility timeout, and after
 *   `maxReceiveCount` moves them to the ingest dead-letter queue. Bodies that are no notification
 *   are acknowledged with a warning (retrying the same bytes cannot help), and so is S3's
 *   `s3:TestEvent`.
 * - **S3** (a direct invocation: the emulator, a replay by hand): an infrastructure failure fails
 *   the invocation, so that Lambda's asynchronous retry runs it again.
 *
 * Keys that are not image ids, and records of other events, are skipped with a warning.
 */
import { type EffectHandler, LambdaHandler, type S3Event, type SQSEvent } from "@effect-aws/lambda"
import {
  type DatabaseError,
  type ObjectCreated,
  parseImageId,
  type QueueError,
  type StartOutcome,
  startProcessingMany
} from "@imgpipe/core"
import type { SQSBatchResponse } from "aws-lambda"
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import { type IngestMessageParse, parseStartProcessingEvent, type S3RecordParse } from "./events.js"
import { StartProcessingLive } from "./layers.js"
import { functionObservabilityLayer, observed } from "./observability.js"

/** Some records could not be started; the invocation fails so that Lambda retries the event. */
export class StartProcessingFailed extends Schema.TaggedError<StartProcessingFailed>()("StartProcessingFailed", {
  failed: Schema.Number,
  total: Schema.Number,
  message: Schema.String
}) {}

export interface StartProcessingSummary {
  readonly started: number
  /** Duplicates: the image was already ready or failed. */
  readonly alreadyHandled: number
  /** Records that were not an upload of ours (unknown key, other event, malformed). */
  readonly skipped: number
}

type StartContext = Effect.Effect.Context<ReturnType<typeof startProcessingMany>>

const describe = (error: DatabaseError | QueueError): string => `${error._tag} in ${error.operation}: ${error.message}`

const logSkipped = (records: ReadonlyArray<S3RecordParse>) =>
  Effect.forEach(
    records,
    (record) =>
      record._tag === "Skipped"
        ? Effect.logWarning("S3 record skipped").pipe(
          Effect.annotateLogs({ reason: record.reason, ...(record.key !== undefined ? { key: record.key } : {}) })
        )
        : Effect.void,
    { discard: true }
  )

/**
 * Starts every created object of `records` with one `startProcessingMany` call. A key named twice
 * (S3 repeats a notification, sometimes within one batch) is started once. Fails only on
 * infrastructure errors; the summary counts each record.
 */
const startAll = (records: ReadonlyArray<S3RecordParse>) =>
  Effect.gen(function* () {
    yield* logSkipped(records)
    const created = Arr.dedupeWith(
      Arr.filterMap(records, (record) => (record._tag === "Created" ? Option.some(record.event) : Option.none())),
      (a: ObjectCreated, b: ObjectCreated) => a.key === b.key
    )
    const outcomes = created.length === 0 ? [] : yield* startProcessingMany(created)
    const outcomeOf = new Map(Arr.zip(created.map((event) => event.key), outcomes.map((outcome) => outcome._tag)))
    const tags = records.map((record) => (record._tag === "Created" ? outcomeOf.get(record.event.key) : undefined))
    const count = (tag: StartOutcome["_tag"]) => tags.filter((t) => t === tag).length
    const started = count("Started")
    const alreadyHandled = count("AlreadyHandled")
    return {
      started,
      alreadyHandled,
      skipped: records.length - started - alreadyHandled
    } satisfies StartProcessingSummary
  })

/** A direct S3 event: the summary, or a failed invocation for Lambda's asynchronous retry. */
const handleS3 = (records: ReadonlyArray<S3RecordParse>) =>
  startAll(records).pipe(
    Effect.catchAll((error) => {
      const created = records.filter((record) => record._tag === "Created").length
      return Effect.logError("could not start processing").pipe(
        Effect.annotateLogs({ error: describe(error) }),
        Effect.zipRight(
          new StartProcessingFailed({
            failed: created,
            total: records.length,
            message: `${created} of ${records.length} records failed: ${describe(error)}`
          })
        )
      )
    })
  )

/** A message naming at least one object that may be an upload of ours (its key is an image id). */
const hasUploads = (message: IngestMessageParse): message is Extract<IngestMessageParse, { _tag: "Notification" }> =>
  message._tag === "Notification" &&
  message.records.some((record) => record._tag === "Created" && Option.isSome(parseImageId(record.event.key)))

/**
 * An SQS batch of the ingest queue: one `startProcessingMany` for all of its uploads. If that
 * fails, every message that carried an upload is reported failed (and only those: test events,
 * skipped records, keys that are not image ids and malformed bodies have nothing to retry).
 */
const handleSqs = (messages: ReadonlyArray<IngestMessageParse>) =>
  Effect.gen(function* () {
    for (const message of messages) {
      if (message._tag === "Malformed") {
        yield* Effect.logWarning("ingest message is not an S3 notification; acknowledged without processing").pipe(
          Effect.annotateLogs({
            message_id: message.messageId ?? "unknown",
            reason: message.reason,
            ...(message.body !== undefined ? { body: message.body } : {})
          })
        )
      } else if (message._tag === "TestEvent") {
        yield* Effect.logInfo("s3:TestEvent acknowledged").pipe(Effect.annotateLogs({ message_id: message.messageId }))
      }
    }
    const notifications = messages.flatMap((message) => (message._tag === "Notification" ? [message] : []))
    return yield* startAll(notifications.flatMap((message) => message.records)).pipe(
      Effect.matchEffect({
        onSuccess: (summary) =>
          Effect.logDebug("ingest batch started").pipe(
            Effect.annotateLogs({ messages: messages.length, ...summary }),
            Effect.as({ batchItemFailures: [] } satisfies SQSBatchResponse)
          ),
        onFailure: (error) => {
          const failed = messages.filter(hasUploads).map((message) => message.messageId)
          return Effect.logError("could not start processing; the batch's uploads will be delivered again").pipe(
            Effect.annotateLogs({ error: describe(error), messages: failed.length }),
            Effect.as(
              { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) } satisfies SQSBatchResponse
            )
          )
        }
      })
    )
  })

export const startProcessingHandler: EffectHandler<
  SQSEvent | S3Event,
  StartContext,
  StartProcessingFailed,
  SQSBatchResponse | StartProcessingSummary
> = (event) =>
  Effect.suspend((): Effect.Effect<SQSBatchResponse | StartProcessingSummary, StartProcessingFailed, StartContext> => {
    const input = parseStartProcessingEvent(event)
    return input._tag === "Sqs" ? handleSqs(input.messages) : handleS3(input.records)
  }).pipe(Effect.withSpan("StartProcessing"))

export const handler = LambdaHandler.make({
  handler: observed("start-processing", startProcessingHandler),
  layer: Layer.merge(StartProcessingLive, functionObservabilityLayer("start-processing"))
})
