/**
 * ProcessImage: a batch of SQS messages from one size queue → core `processImage` per record →
 * `{ batchItemFailures }` naming only the records that failed transiently (the event source
 * mapping must have `ReportBatchItemFailures` on). Those stay on the queue and come back after
 * the visibility timeout; after 3 receives SQS moves them to the dead-letter queue, and the use
 * case records the failure on the image during that last delivery.
 *
 * Everything else is acknowledged: renditions made, duplicates, refused content (recorded on the
 * image for good) and malformed bodies (logged: retrying the same bytes cannot help, and leaving
 * them would only cycle them into the dead-letter queue).
 */
import { type EffectHandler, LambdaHandler, type SQSEvent } from "@effect-aws/lambda"
import { processImage } from "@imgpipe/core"
import type { SQSBatchResponse } from "aws-lambda"
import { Effect } from "effect"
import { parseSqsEvent } from "./events.js"
import { ProcessImageLive, ProcessImageSettings } from "./layers.js"

export const processImageHandler: EffectHandler<
  SQSEvent,
  ProcessImageSettings | Effect.Effect.Context<ReturnType<typeof processImage>>,
  never,
  SQSBatchResponse
> = (event) =>
  Effect.gen(function* () {
    const options = yield* ProcessImageSettings
    const records = parseSqsEvent(event)
    const failed = yield* Effect.forEach(
      records,
      (record): Effect.Effect<ReadonlyArray<string>, never, Effect.Effect.Context<ReturnType<typeof processImage>>> => {
        if (record._tag === "Malformed") {
          return Effect.logError("malformed message acknowledged without processing").pipe(
            Effect.annotateLogs({
              message_id: record.messageId ?? "unknown",
              reason: record.reason,
              ...(record.body !== undefined ? { body: record.body } : {})
            }),
            Effect.as([])
          )
        }
        return processImage({ job: record.job, receiveCount: record.receiveCount, maxReceives: options.maxReceives })
          .pipe(
            Effect.as([]),
            // The use case has logged why; the queue redelivers just this record.
            Effect.catchTag("TransientFailure", () => Effect.succeed([record.messageId])),
            Effect.annotateLogs({ message_id: record.messageId })
          )
      },
      { concurrency: options.concurrency }
    )
    return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) }
  }).pipe(Effect.withSpan("ProcessImage"))

export const handler = LambdaHandler.make({ handler: processImageHandler, layer: ProcessImageLive })
