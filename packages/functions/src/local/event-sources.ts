/**
 * What AWS does between the services and the functions, emulated so the real handlers run
 * unchanged:
 *
 * - **S3 → the ingest queue.** Each object created in the raw bucket becomes the S3 ObjectCreated
 *   notification AWS sends (same JSON shape, key URL-encoded with `+` for spaces), posted as the
 *   body of one message to the ingest queue, as S3's queue notification does; the `s3:TestEvent`
 *   S3 posts when the notification is configured comes first.
 * - **SQS → StartProcessing, SQS → ProcessImage, SQS → DeliverWebhook.** One poller per queue (the
 *   ingest queue, each size queue, the webhook queue) does what Lambda's event source mapping does with `ReportBatchItemFailures`:
 *   receive up to `batchSize` messages (long polling) with their system attributes, invoke the
 *   handler with an SQS event of the real shape, delete the messages it did not list in
 *   `batchItemFailures`, and leave the listed ones for SQS to deliver again after the visibility
 *   timeout (and to dead-letter after `maxReceiveCount`). A thrown error, a timeout or an unknown
 *   item identifier fails the whole batch, as in AWS. (No batching window: a poll hands over what
 *   one ReceiveMessage returned.)
 *
 * Handlers are plain Lambda handler functions `(event, context) => Promise<result>`: the exported
 * `handler`s, or test-built ones.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs"
import { IMAGE_SIZES, type ImageSize } from "@imgpipe/core"
import type { SQSBatchResponse, SQSEvent } from "aws-lambda"
import { Effect, Queue, Schedule, type Scope } from "effect"
import type { AwsEmulator, CreatedObject, QueueInfo } from "./emulator.js"
import { invoke, type LambdaFunction, s3EventRecord, s3TestEvent, sqsEventRecord } from "./lambda-events.js"

// The event shapes and `invoke` live in lambda-events.ts; re-exported for the tests and aws-local.
export * from "./lambda-events.js"

// ---- S3 notifications → the ingest queue --------------------------------------------------------

const sendToQueue = (emulator: AwsEmulator, queue: QueueInfo, body: unknown) =>
  Effect.tryPromise({
    try: (signal) =>
      emulator.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(body) }), {
        abortSignal: signal
      }),
    catch: (error) => `SendMessage to ${queue.name} failed: ${String(error)}`
  })

/** S3's delivery of one object's notification to the ingest queue: one message, one record. */
export const notifyIngestQueue = (emulator: AwsEmulator, object: CreatedObject) =>
  sendToQueue(emulator, emulator.ingestQueue, { Records: [s3EventRecord(object, emulator.region)] })

/**
 * Runs until interrupted: first the `s3:TestEvent`, then each object created in the raw bucket
 * as a notification on the ingest queue (S3 retries a failed delivery; so does this, every second).
 */
export const runS3Notifications = (emulator: AwsEmulator): Effect.Effect<never, never, Scope.Scope> => {
  const retrying = <A>(send: Effect.Effect<A, string>) =>
    send.pipe(
      Effect.tapError((error) =>
        Effect.logWarning("S3 notification not delivered; retrying").pipe(Effect.annotateLogs({ error }))
      ),
      Effect.retry(Schedule.spaced("1 second")),
      // Retried for ever: no error comes out.
      Effect.orDie,
      Effect.asVoid
    )
  return retrying(sendToQueue(emulator, emulator.ingestQueue, s3TestEvent(emulator.buckets.raw))).pipe(
    Effect.zipRight(
      Queue.take(emulator.objectCreated).pipe(
        Effect.flatMap((
          object
        ) => (object.bucket === emulator.buckets.raw ? retrying(notifyIngestQueue(emulator, object)) : Effect.void)),
        Effect.forever
      )
    )
  )
}

// ---- SQS event source mappings → StartProcessing, ProcessImage -----------------------------------

export interface SqsSourceOptions {
  /** Messages per invocation, 1–10 (the mapping's BatchSize). */
  readonly batchSize: number
  /** Long-poll wait per ReceiveMessage, 0–20 s (Lambda uses 20). */
  readonly waitTimeSeconds: number
  readonly timeoutMs: number
}

/** What one poll did. */
export interface PollOutcome {
  readonly received: number
  readonly deleted: number
  /** Left on the queue for redelivery. */
  readonly retried: number
}

export interface BatchOutcome extends PollOutcome {
  readonly size: ImageSize
}

const isBatchResponse = (value: unknown): value is SQSBatchResponse =>
  typeof value === "object" && value !== null &&
  Array.isArray((value as { batchItemFailures?: unknown }).batchItemFailures)

/**
 * One poll of one queue by the mapping of `functionName`: receive, invoke, delete the successes.
 * No messages: `received` 0.
 */
export const pollQueue = (
  emulator: AwsEmulator,
  queue: QueueInfo,
  functionName: string,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<PollOutcome, string> =>
  Effect.gen(function* () {
    const received = yield* Effect.tryPromise({
      try: (signal) =>
        emulator.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: options.waitTimeSeconds,
            // Lambda's mapping hands every message attribute over (trace context among them).
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: [
              "ApproximateReceiveCount",
              "SentTimestamp",
              "SenderId",
              "ApproximateFirstReceiveTimestamp"
            ]
          }),
          { abortSignal: signal }
        ),
      catch: (error) => `ReceiveMessage failed: ${String(error)}`
    })
    const messages = received.Messages ?? []
    if (messages.length === 0) return { received: 0, deleted: 0, retried: 0 }

    const event: SQSEvent = { Records: messages.map((m) => sqsEventRecord(m, queue.arn, emulator.region)) }
    const result = yield* invoke(fn, event, { functionName, region: emulator.region, timeoutMs: options.timeoutMs })
      .pipe(
        Effect.either
      )
    const ids = new Set(messages.map((m) => m.MessageId))
    let failedIds: ReadonlySet<string | undefined>
    if (result._tag === "Left") {
      yield* Effect.logWarning(`${functionName} failed; the whole batch will be delivered again`).pipe(
        Effect.annotateLogs({ error: result.left })
      )
      failedIds = ids
    } else if (result.right === undefined || result.right === null) {
      failedIds = new Set() // no response: every record succeeded
    } else if (
      !isBatchResponse(result.right) || result.right.batchItemFailures.some((f) => !ids.has(f.itemIdentifier))
    ) {
      yield* Effect.logWarning(
        `${functionName} returned an invalid batch response; the whole batch will be delivered again`
      )
      failedIds = ids
    } else {
      failedIds = new Set(result.right.batchItemFailures.map((f) => f.itemIdentifier))
    }

    const done = messages.filter((m) => !failedIds.has(m.MessageId))
    if (done.length > 0) {
      const out = yield* Effect.tryPromise({
        try: () =>
          emulator.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queue.url,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" }))
            })
          ),
        catch: (error) => `DeleteMessageBatch failed: ${String(error)}`
      })
      if ((out.Failed ?? []).length > 0) {
        yield* Effect.logWarning("some processed messages could not be deleted; they will be delivered again")
      }
    }
    return { received: messages.length, deleted: done.length, retried: messages.length - done.length }
  })

/** One poll of a size queue by ProcessImage's mapping. Exported for tests that step it by hand. */
export const pollOnce = (
  emulator: AwsEmulator,
  size: ImageSize,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<BatchOutcome, string> =>
  Effect.map(
    pollQueue(emulator, emulator.queues[size], `ProcessImage-${size}`, fn, options),
    (outcome) => ({ size, ...outcome })
  )

/** One poll of the ingest queue by StartProcessing's mapping. */
export const pollIngestOnce = (
  emulator: AwsEmulator,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<PollOutcome, string> => pollQueue(emulator, emulator.ingestQueue, "StartProcessing", fn, options)

/** Polls until interrupted; an emulator hiccup must not end the mapping: log, back off, poll again. */
const pollForever = <A>(poll: Effect.Effect<A, string>, queue: QueueInfo) =>
  poll.pipe(
    Effect.catchAll((error) =>
      Effect.logWarning("poll failed").pipe(Effect.annotateLogs({ error }), Effect.zipRight(Effect.sleep("1 second")))
    ),
    Effect.forever,
    Effect.annotateLogs({ queue: queue.name })
  )

/** Polls every size queue until interrupted (one poller each), feeding `fn`. */
export const runSqsEventSources = (
  emulator: AwsEmulator,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.forEach(
    IMAGE_SIZES,
    (size) => Effect.forkScoped(pollForever(pollOnce(emulator, size, fn, options), emulator.queues[size])),
    { discard: true }
  )

/** Polls the ingest queue until interrupted, feeding StartProcessing's `fn`. */
export const runIngestEventSource = (
  emulator: AwsEmulator,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(Effect.forkScoped(pollForever(pollIngestOnce(emulator, fn, options), emulator.ingestQueue)))

/** One poll of the webhook queue by DeliverWebhook's mapping. */
export const pollWebhooksOnce = (
  emulator: AwsEmulator,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<PollOutcome, string> => pollQueue(emulator, emulator.webhookQueue, "DeliverWebhook", fn, options)

/** Polls the webhook queue until interrupted, feeding DeliverWebhook's `fn`. */
export const runWebhookEventSource = (
  emulator: AwsEmulator,
  fn: LambdaFunction<SQSEvent, unknown>,
  options: SqsSourceOptions
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(Effect.forkScoped(pollForever(pollWebhooksOnce(emulator, fn, options), emulator.webhookQueue)))
