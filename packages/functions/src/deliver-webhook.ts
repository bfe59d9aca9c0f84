/**
 * DeliverWebhook: a batch of `webhooks-<stage>` messages, each naming one delivery row
 * (`{ "event_id" }`) → core `deliverWebhook` per record, all at once → `{ batchItemFailures }`
 * (the event source mapping has `ReportBatchItemFailures` on).
 *
 * - Delivered, skipped (a duplicate), retrying or deferred: acknowledged. A retry is not this
 *   message coming back: the use case has recorded the attempt and sent the next one to the queue
 *   with its backoff as the delay (longer backoffs in hops of at most 900 s).
 * - Gave up (24 h without a 2xx): the message is sent to `webhooks-dlq-<stage>` and acknowledged,
 *   so the DLQ holds exactly the deliveries that exhausted their retries; if that send fails the
 *   record is reported failed and comes back (the row is given up already: the next receive only
 *   finds it done, and the redrive policy's safety net dead-letters it after 5 receives).
 * - Redriven from the DLQ (an operator's SQS redrive; the message carries the `reason` attribute):
 *   the given-up row is reopened first, so the delivery starts a new 24 h window.
 * - The database or the queue failed: reported failed, redelivered after the visibility timeout.
 * - A malformed body: logged and acknowledged (retrying the same bytes cannot help).
 *
 * Each delivery runs under the trace context its message carries (`traceparent`); the invocation is
 * `observed` as the other handlers are (traces when configured, `imgpipe_webhook_deliveries_total`
 * by outcome flushed as EMF lines after the batch, JSON logs).
 */
import { type EffectHandler, LambdaHandler, type SQSEvent } from "@effect-aws/lambda"
import { SqsWebhookDeadLetter } from "@imgpipe/core/aws/SqsWebhookQueue"
import { withTraceparent } from "@imgpipe/core/observability/traceContext"
import { deliverWebhook } from "@imgpipe/core/usecases/deliverWebhook"
import { reopenGivenUpWebhook } from "@imgpipe/core/usecases/redriveWebhook"
import type { SQSBatchResponse } from "aws-lambda"
import { Effect, Layer } from "effect"
import { parseWebhookEvent } from "./events.js"
import { functionObservabilityLayer, observed } from "./observability.js"
import { DeliverWebhookLive } from "./webhook-layers.js"

type DeliverContext = Effect.Effect.Context<ReturnType<typeof deliverWebhook>> | SqsWebhookDeadLetter

export const deliverWebhookHandler: EffectHandler<SQSEvent, DeliverContext, never, SQSBatchResponse> = (event) =>
  Effect.gen(function* () {
    const deadLetter = yield* SqsWebhookDeadLetter
    const failed = yield* Effect.forEach(
      parseWebhookEvent(event),
      (record): Effect.Effect<ReadonlyArray<string>, never, DeliverContext> => {
        if (record._tag === "Malformed") {
          return Effect.logError("malformed webhook message acknowledged without delivery").pipe(
            Effect.annotateLogs({
              message_id: record.messageId ?? "unknown",
              reason: record.reason,
              ...(record.body !== undefined ? { body: record.body } : {})
            }),
            Effect.as([])
          )
        }
        return (record.redriven ? reopenGivenUpWebhook(record.eventId) : Effect.void).pipe(
          Effect.zipRight(deliverWebhook(record.eventId)),
          Effect.flatMap((outcome) =>
            outcome._tag === "GaveUp"
              ? deadLetter.send(record.eventId, outcome.error)
              : Effect.void
          ),
          Effect.as([]),
          Effect.catchAll((error) =>
            Effect.logWarning("webhook message not handled; SQS delivers it again").pipe(
              Effect.annotateLogs({ error: `${error._tag} in ${error.operation}: ${error.message}` }),
              Effect.as([record.messageId])
            )
          ),
          withTraceparent(record.traceparent),
          Effect.annotateLogs({ message_id: record.messageId })
        )
      },
      // One slow receiver must not hold up the others: the batch is at most 10 (settings.ts).
      { concurrency: "unbounded" }
    )
    return { batchItemFailures: failed.flat().map((itemIdentifier) => ({ itemIdentifier })) }
  }).pipe(Effect.withSpan("DeliverWebhook"))

export const handler = LambdaHandler.make({
  handler: observed("deliver-webhook", deliverWebhookHandler),
  layer: Layer.merge(DeliverWebhookLive, functionObservabilityLayer("deliver-webhook"))
})
