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
 *
 * Each record runs in a span under the trace of the StartProcessing run that sent it (its
 * `traceparent` message attribute); its outcome and time go to `imgpipe_renditions_total` and
 * `imgpipe_resize_duration_seconds`, flushed as EMF lines after the batch (`observed`).
 */
import { type EffectHandler, LambdaHandler, type SQSEvent } from "@effect-aws/lambda"
import { processImage, renditionOutcomeLabel } from "@imgpipe/core"
import { recordRendition, timed } from "@imgpipe/core/observability/metrics"
import { TRACEPARENT, withTraceparent } from "@imgpipe/core/observability/traceContext"
import type { SQSBatchResponse } from "aws-lambda"
import { Effect, Layer } from "effect"
import { parseSqsEvent } from "./events.js"
import { ProcessImageLive, ProcessImageSettings } from "./layers.js"
import { functionObservabilityLayer, observed } from "./observability.js"

export const processImageHandler: EffectHandler<
  SQSEvent,
  ProcessImageSettings | Effect.Effect.Context<ReturnType<typeof processImage>>,
  never,
  SQSBatchResponse
> = (event) =>
  Effect.gen(function* () {
    const options = yield* ProcessImageSettings
    const records = parseSqsEvent(event)
    // The sender's trace context, by message id (SQS message attributes; absent while tracing is off).
    const traceparents = new Map(
      (event.Records ?? []).map((record) => [record.messageId, record.messageAttributes?.[TRACEPARENT]?.stringValue])
    )
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
        const size = record.job.size
        return timed(
          processImage({ job: record.job, receiveCount: record.receiveCount, maxReceives: options.maxReceives })
        ).pipe(
          Effect.flatMap(([outcome, seconds]) =>
            recordRendition({ size, outcome: renditionOutcomeLabel(outcome), seconds })
          ),
          Effect.as([]),
          // The use case has logged why; the queue redelivers just this record.
          Effect.catchTag("TransientFailure", () =>
            recordRendition({ size, outcome: "retry", seconds: 0 }).pipe(Effect.as([record.messageId]))),
          Effect.withSpan("ProcessImage.record", {
            kind: "consumer",
            attributes: { "imgpipe.image_id": record.job.image_id, "imgpipe.size": size }
          }),
          withTraceparent(traceparents.get(record.messageId)),
          Effect.annotateLogs({ message_id: record.messageId })
        )
      },
      { concurrency: options.concurrency }
    )
    return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) }
  }).pipe(Effect.withSpan("ProcessImage"))

export const handler = LambdaHandler.make({
  handler: observed("process-image", processImageHandler),
  layer: Layer.merge(ProcessImageLive, functionObservabilityLayer("process-image"))
})
