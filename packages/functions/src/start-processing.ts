/**
 * StartProcessing: S3 ObjectCreated notifications on the raw bucket → core `startProcessing`, once
 * per record. S3 delivers at least once and may batch or repeat records; the use case is
 * idempotent, so a repeat only re-sends sizes that are still unfinished.
 *
 * S3 invokes the function asynchronously: an infrastructure failure (database, SQS) fails the
 * invocation, Lambda retries it (twice by default) and the records that already succeeded are
 * harmless repeats. Keys that are not image ids are skipped with a warning.
 */
import { type EffectHandler, LambdaHandler, type S3Event } from "@effect-aws/lambda"
import { type DatabaseError, type QueueError, startProcessing } from "@imgpipe/core"
import { Effect, Schema } from "effect"
import { parseS3Event } from "./events.js"
import { StartProcessingLive } from "./layers.js"

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

/** How many records of one event are started at once (S3 usually sends one). */
const RECORD_CONCURRENCY = 4

const describe = (error: DatabaseError | QueueError): string => `${error._tag} in ${error.operation}: ${error.message}`

export const startProcessingHandler: EffectHandler<
  S3Event,
  Effect.Effect.Context<ReturnType<typeof startProcessing>>,
  StartProcessingFailed,
  StartProcessingSummary
> = (event) =>
  Effect.gen(function* () {
    const records = parseS3Event(event)
    let skipped = 0
    let started = 0
    let alreadyHandled = 0
    const failures: Array<string> = []
    yield* Effect.forEach(
      records,
      (record) => {
        if (record._tag === "Skipped") {
          skipped++
          return Effect.logWarning("S3 record skipped").pipe(
            Effect.annotateLogs({ reason: record.reason, ...(record.key !== undefined ? { key: record.key } : {}) })
          )
        }
        return startProcessing(record.event).pipe(
          Effect.tap((outcome) =>
            Effect.sync(() => {
              if (outcome._tag === "Started") started++
              else if (outcome._tag === "AlreadyHandled") alreadyHandled++
              else skipped++
            })
          ),
          Effect.catchAll((error) =>
            Effect.sync(() => failures.push(`${record.event.key}: ${describe(error)}`)).pipe(
              Effect.zipRight(
                Effect.logError("could not start processing").pipe(
                  Effect.annotateLogs({ key: record.event.key, error: describe(error) })
                )
              )
            )
          )
        )
      },
      { concurrency: RECORD_CONCURRENCY, discard: true }
    )
    if (failures.length > 0) {
      return yield* new StartProcessingFailed({
        failed: failures.length,
        total: records.length,
        message: `${failures.length} of ${records.length} records failed: ${failures.join("; ")}`
      })
    }
    return { started, alreadyHandled, skipped }
  }).pipe(Effect.withSpan("StartProcessing"))

export const handler = LambdaHandler.make({ handler: startProcessingHandler, layer: StartProcessingLive })
