/**
 * `WebhookQueue` on Amazon SQS (or an emulator at `AWS_ENDPOINT_URL`): one message per delivery on
 * `webhooks-<stage>` (`IMGPIPE_WEBHOOK_QUEUE_URL`), body `WebhookJob` (`{ "event_id": … }`), with
 * the dispatch's `DelaySeconds` (0–900, SQS's limit). Sent with `SendMessageBatch`, 10 entries per
 * request; entries SQS refuses inside a successful batch fail the call with `QueueError`, so the
 * caller's retry (or the next `dispatchWebhooks`) sends them again. A duplicate is harmless: the
 * delivery row is claimed before each attempt and a delivered row is skipped.
 *
 * Each message carries the sender's trace context as the `traceparent` message attribute, so the
 * delivery joins the trace of the upload that led to it.
 *
 * The `DeliverWebhook` function consumes the queue (packages/functions/src/deliver-webhook.ts) and
 * moves a delivery that gave up to `webhooks-dlq-<stage>` itself (`SqsWebhookDeadLetter`, below).
 */
import { SQSService } from "@effect-aws/client-sqs"
import { Array, Context, Effect, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { QueueError } from "../domain/errors.js"
import { type WebhookEventId, WebhookJob } from "../domain/webhook.js"
import { currentTraceparent, TRACEPARENT } from "../observability/traceContext.js"
import { WebhookQueue } from "../services/WebhookQueue.js"
import { describeAwsError, sqsQueueUrlConfig } from "./config.js"
import { SQS_BATCH_LIMIT, SqsClientLive } from "./SqsQueue.js"

/** SQS's largest `DelaySeconds`. */
export const SQS_MAX_DELAY_SECONDS = 900

/** `IMGPIPE_WEBHOOK_QUEUE_URL`: the `webhooks-<stage>` queue. */
export const webhookQueueUrlConfig = sqsQueueUrlConfig("IMGPIPE_WEBHOOK_QUEUE_URL")

const encodeJob = Schema.encodeSync(Schema.parseJson(WebhookJob))

/** The message body of a delivery (`{"event_id":"…"}`). */
export const webhookMessageBody = (eventId: WebhookEventId): string => encodeJob({ event_id: eventId })

/** The current span as the `traceparent` message attribute (none with tracing off). */
const traceAttributes = Effect.map(currentTraceparent, (traceparent) =>
  Option.match(traceparent, {
    onNone: () => ({}),
    onSome: (value) => ({ MessageAttributes: { [TRACEPARENT]: { DataType: "String", StringValue: value } } })
  }))

/** A whole number of seconds SQS accepts as `DelaySeconds`. */
const delay = (seconds: number): number =>
  Number.isFinite(seconds) ? Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(seconds))) : 0

export const makeSqsWebhookQueue = (sqs: SQSService.Type, queueUrl: string): WebhookQueue["Type"] => {
  const sendBatch = (chunk: ReadonlyArray<{ readonly eventId: WebhookEventId; readonly delaySeconds: number }>) =>
    Effect.gen(function* () {
      const trace = yield* traceAttributes
      const out = yield* sqs.sendMessageBatch({
        QueueUrl: queueUrl,
        Entries: chunk.map((dispatch, index) => ({
          Id: String(index),
          MessageBody: webhookMessageBody(dispatch.eventId),
          DelaySeconds: delay(dispatch.delaySeconds),
          ...trace
        }))
      }).pipe(
        Effect.mapError((error) =>
          new QueueError({ operation: "send to the webhook queue", message: describeAwsError(error) })
        )
      )
      const failed = out.Failed ?? []
      if (failed.length > 0) {
        const reasons = failed.map((entry) =>
          `${chunk[Number(entry.Id)]?.eventId ?? `entry ${entry.Id}`}: ${entry.Code ?? "error"} ${entry.Message ?? ""}`
            .trim()
        )
        return yield* new QueueError({
          operation: "send to the webhook queue",
          message: `SQS refused ${failed.length} of ${chunk.length} messages (${reasons.join("; ")})`
        })
      }
    })

  return {
    polled: false,
    send: (deliveries) =>
      Effect.forEach(Array.chunksOf(deliveries, SQS_BATCH_LIMIT), sendBatch, {
        concurrency: "unbounded",
        discard: true
      }).pipe(Effect.withSpan("SQS.sendWebhooks", { attributes: { deliveries: deliveries.length } }))
  }
}

/** `WebhookQueue` on `SQSService`, the queue URL from the environment. */
export const SqsWebhookQueueFromClient: Layer.Layer<WebhookQueue, ConfigError, SQSService> = Layer.effect(
  WebhookQueue,
  Effect.gen(function* () {
    const client = yield* SQSService
    const queueUrl = yield* webhookQueueUrlConfig
    return makeSqsWebhookQueue(client, queueUrl)
  })
)

/** `WebhookQueue` on SQS with its own client. */
export const SqsWebhookQueueLive = SqsWebhookQueueFromClient.pipe(Layer.provideMerge(SqsClientLive))

// ---- the dead-letter queue ------------------------------------------------------------------

/** `IMGPIPE_WEBHOOK_DLQ_URL`: `webhooks-dlq-<stage>`. */
export const webhookDeadLetterUrlConfig = sqsQueueUrlConfig("IMGPIPE_WEBHOOK_DLQ_URL")

/**
 * Where `DeliverWebhook` puts a delivery that gave up (24 h without a 2xx): its message, on the
 * webhook DLQ, so the DLQ holds exactly those (and the alarm on its depth fires). AWS only: the
 * embedded runner's table queue keeps a given-up row as its dead letter.
 */
export class SqsWebhookDeadLetter extends Context.Tag("imgpipe/aws/SqsWebhookDeadLetter")<
  SqsWebhookDeadLetter,
  { readonly send: (eventId: WebhookEventId, reason: string) => Effect.Effect<void, QueueError> }
>() {}

export const makeSqsWebhookDeadLetter = (sqs: SQSService.Type, queueUrl: string): SqsWebhookDeadLetter["Type"] => ({
  send: (eventId, reason) =>
    sqs.sendMessage({
      QueueUrl: queueUrl,
      MessageBody: webhookMessageBody(eventId),
      // Why it gave up, for whoever reads the DLQ (SQS keeps attribute values up to 256 KiB).
      MessageAttributes: { reason: { DataType: "String", StringValue: reason.slice(0, 1000) || "gave up" } }
    }).pipe(
      Effect.mapError((error) =>
        new QueueError({ operation: "send to the webhook dead-letter queue", message: describeAwsError(error) })
      ),
      Effect.asVoid,
      Effect.withSpan("SQS.deadLetterWebhook")
    )
})

/** `SqsWebhookDeadLetter` on `SQSService`, the DLQ's URL from the environment. */
export const SqsWebhookDeadLetterFromClient: Layer.Layer<SqsWebhookDeadLetter, ConfigError, SQSService> = Layer
  .effect(
    SqsWebhookDeadLetter,
    Effect.gen(function* () {
      const client = yield* SQSService
      const queueUrl = yield* webhookDeadLetterUrlConfig
      return makeSqsWebhookDeadLetter(client, queueUrl)
    })
  )
