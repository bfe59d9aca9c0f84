/**
 * `JobQueue` on Amazon SQS (or an SQS emulator at `AWS_ENDPOINT_URL`): one standard queue per size,
 * URLs from `IMGPIPE_QUEUE_{SMALL,MEDIUM,LARGE}_URL`. Jobs are grouped by size and sent with
 * `SendMessageBatch`, at most 10 entries per request (SQS's limit), so a call costs one request
 * per size queue touched for up to 10 jobs. Entries SQS refuses inside a successful batch
 * (partial failures) fail the call with `QueueError`: the caller's retry re-sends them, and
 * duplicates are harmless because processing is idempotent. Calls go through
 * `@effect-aws/client-sqs`'s `SQSService`.
 */
import { makeSQSService, SQSClientInstance, SQSService, SQSServiceConfig } from "@effect-aws/client-sqs"
import { Array, Config, Effect, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { QueueError } from "../domain/errors.js"
import { ProcessJob } from "../domain/image.js"
import { IMAGE_SIZES, type ImageSize } from "../domain/sizes.js"
import { currentTraceparent, TRACEPARENT } from "../observability/traceContext.js"
import { JobQueue } from "../services/JobQueue.js"
import { type AwsClientConfig, awsClientConfig, clientOptions, describeAwsError, sqsQueueUrlConfig } from "./config.js"

/** The SDK client under `SQSService` (a test reaches its middleware stack through it, e.g. to count requests). */
export { SQSClientInstance } from "@effect-aws/client-sqs"

// ---- configuration --------------------------------------------------------------------------

export interface SqsQueueConfig {
  readonly queueUrls: Readonly<Record<ImageSize, string>>
  readonly client: AwsClientConfig
}

export const sqsQueueConfig: Config.Config<SqsQueueConfig> = Config.all({
  queueUrls: Config.all({
    small: sqsQueueUrlConfig("IMGPIPE_QUEUE_SMALL_URL"),
    medium: sqsQueueUrlConfig("IMGPIPE_QUEUE_MEDIUM_URL"),
    large: sqsQueueUrlConfig("IMGPIPE_QUEUE_LARGE_URL")
  }),
  client: awsClientConfig
})

// ---- the client -----------------------------------------------------------------------------

/**
 * `SQSService` over one `SQSClient` for the life of the layer (closed when the layer is released).
 * The client itself is provided too.
 */
type SqsClient = SQSService | SQSClientInstance.SQSClientInstance

export const SqsClientLive: Layer.Layer<SqsClient, ConfigError> = Layer.unwrapEffect(
  Effect.map(awsClientConfig, (config) =>
    Layer.effect(SQSService, makeSQSService).pipe(
      Layer.provideMerge(SQSClientInstance.layer),
      Layer.provide(SQSServiceConfig.setSQSServiceConfig(clientOptions(config)))
    ))
)

// ---- implementation -------------------------------------------------------------------------

/** SQS accepts at most 10 entries per `SendMessageBatch`. */
export const SQS_BATCH_LIMIT = 10

const encodeJob = Schema.encodeSync(Schema.parseJson(ProcessJob))

export const makeSqsQueue = (sqs: SQSService.Type, config: SqsQueueConfig): JobQueue["Type"] => {
  const sendBatch = (size: ImageSize, jobs: ReadonlyArray<ProcessJob>) =>
    Effect.gen(function* () {
      // The sender's trace context as a W3C `traceparent` attribute (none while tracing is off).
      const traceparent = yield* currentTraceparent
      const entries = jobs.map((job, index) => ({
        Id: String(index),
        MessageBody: encodeJob(job),
        ...(Option.isSome(traceparent)
          ? { MessageAttributes: { [TRACEPARENT]: { DataType: "String", StringValue: traceparent.value } } }
          : {})
      }))
      const out = yield* sqs.sendMessageBatch({ QueueUrl: config.queueUrls[size], Entries: entries }).pipe(
        Effect.mapError((error) =>
          new QueueError({ operation: `send to the ${size} queue`, message: describeAwsError(error) })
        )
      )
      const failed = out.Failed ?? []
      if (failed.length > 0) {
        const reasons = failed.map((entry) => {
          const job = jobs[Number(entry.Id)]
          return `${job?.image_id ?? `entry ${entry.Id}`}: ${entry.Code ?? "error"} ${entry.Message ?? ""}`.trim()
        })
        return yield* new QueueError({
          operation: `send to the ${size} queue`,
          message: `SQS refused ${failed.length} of ${jobs.length} messages (${reasons.join("; ")})`
        })
      }
    })

  return {
    send: (jobs) =>
      Effect.forEach(
        IMAGE_SIZES.flatMap((size) =>
          Array.chunksOf(jobs.filter((job) => job.size === size), SQS_BATCH_LIMIT).map((chunk) =>
            [size, chunk] as const
          )
        ),
        ([size, chunk]) => sendBatch(size, chunk),
        // The three queues are independent: one round trip of latency, not three.
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.withSpan("SQS.send", { attributes: { jobs: jobs.length } })),
    // SQS cannot be asked which messages name an image (only counted, or received, which would
    // hide them from the workers): the reconciler decides by time alone (docs/decisions.md).
    imagesWithLiveJobs: () => Effect.succeed(Option.none())
  }
}

/** `JobQueue` on `SQSService`, queue URLs from the environment. */
export const SqsQueueFromClient: Layer.Layer<JobQueue, ConfigError, SQSService> = Layer.effect(
  JobQueue,
  Effect.gen(function* () {
    const client = yield* SQSService
    const config = yield* sqsQueueConfig
    return makeSqsQueue(client, config)
  })
)

/** `JobQueue` on SQS with its own client. */
export const SqsQueueLive: Layer.Layer<JobQueue | SqsClient, ConfigError> = SqsQueueFromClient.pipe(
  Layer.provideMerge(SqsClientLive)
)
