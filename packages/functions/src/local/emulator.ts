/**
 * AWS on this machine: fauxqs (S3 + SQS in one in-process HTTP server) set up as imgpipe's stage
 * is in AWS — the raw and processed buckets, the three size queues with a redrive policy to one
 * dead-letter queue, the ingest queue (the raw bucket's notifications) with its own, the webhook
 * queue (`webhooks-<stage>`, consumed by DeliverWebhook) with its own — plus what fauxqs lacks:
 *
 * - presigned URLs checked, conditional writes, object tagging, private buckets and the stored
 *   `Cache-Control`, as S3 does them (`s3-behaviour.ts`), with anonymous reads of the processed
 *   bucket standing in for CloudFront (`cdn-origin.ts`);
 * - every object stored (PUT, or copy) is reported on `objectCreated`, which the event-source
 *   emulator turns into S3 ObjectCreated notifications on the ingest queue. fauxqs has no bucket
 *   notifications, but its Fastify app (`buildApp`) lets a response hook see each completed write.
 */
import { CreateBucketCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs"
import { IMAGE_SIZES, type ImageSize } from "@imgpipe/core"
import { Data, Effect, Queue, type Scope } from "effect"
import type { FastifyReply, FastifyRequest } from "fastify"
import { buildApp } from "fauxqs"
import { randomBytes } from "node:crypto"
import type { Keys } from "./presigned.js"
import { installS3Behaviour, s3Target } from "./s3-behaviour.js"

export class EmulatorError extends Data.TaggedError("EmulatorError")<{ readonly message: string }> {}

export interface EmulatorOptions {
  /** Port for the S3 + SQS endpoint; 0 picks a free one. */
  readonly port: number
  readonly region: string
  /** The keys clients must sign with (fauxqs itself accepts any). */
  readonly keys: Keys
  readonly rawBucket: string
  readonly processedBucket: string
  readonly queueNames: Readonly<Record<ImageSize, string>>
  readonly deadLetterQueueName: string
  /** The raw bucket's notifications (`image-uploaded-<stage>`) and their own dead-letter queue. */
  readonly ingestQueueName: string
  readonly ingestDeadLetterQueueName: string
  /** Webhook deliveries (`webhooks-<stage>`) and the ones that gave up (`webhooks-dlq-<stage>`). */
  readonly webhookQueueName: string
  readonly webhookDeadLetterQueueName: string
  /** Seconds a received message stays invisible before it is delivered again. */
  readonly visibilityTimeoutSeconds: number
  /** Receives before SQS moves a message to the dead-letter queue (the spec: 3). */
  readonly maxReceiveCount: number
  /** Refuse presigned requests whose signature does not match (default true). */
  readonly verifyPresignedUrls?: boolean
  /**
   * Let anonymous GET/HEAD read the processed bucket's objects, as the CloudFront distribution does
   * in AWS (`IMGPIPE_DELIVERY=cdn`, the default: true). Every other anonymous request to either
   * bucket is refused, as S3 refuses it (`cdn-origin.ts`).
   */
  readonly anonymousRenditionReads?: boolean
}

export interface QueueInfo {
  readonly name: string
  readonly url: string
  readonly arn: string
}

/** One object written, as S3 would describe it in a notification. */
export interface CreatedObject {
  readonly eventName: "ObjectCreated:Put" | "ObjectCreated:Copy"
  readonly bucket: string
  readonly key: string
  readonly size: number
  /** Hex MD5 without quotes, as in S3 events. */
  readonly eTag: string
  readonly sourceIp: string
  readonly requestId: string
  readonly time: Date
}

export interface AwsEmulator {
  readonly endpoint: string
  readonly region: string
  readonly keys: Keys
  readonly buckets: { readonly raw: string; readonly processed: string }
  readonly queues: Readonly<Record<ImageSize, QueueInfo>>
  readonly deadLetterQueue: QueueInfo
  /** Where S3 posts the raw bucket's ObjectCreated notifications, consumed by StartProcessing. */
  readonly ingestQueue: QueueInfo
  readonly ingestDeadLetterQueue: QueueInfo
  /** Webhook deliveries, consumed by DeliverWebhook, and the deliveries it gave up. */
  readonly webhookQueue: QueueInfo
  readonly webhookDeadLetterQueue: QueueInfo
  /**
   * The processed bucket's path-style URL, `<endpoint>/<bucket>`, where anonymous GETs read the
   * renditions (`IMGPIPE_CDN_URL` under `start:aws-local`); undefined without anonymous reads.
   */
  readonly cdnUrl: string | undefined
  /** Objects created in any bucket, in the order their writes completed. */
  readonly objectCreated: Queue.Dequeue<CreatedObject>
  /** The environment variables that point imgpipe's runtimes at this emulator. */
  readonly env: Readonly<Record<string, string>>
  /** Clients of the emulator for setup and inspection (not the application's own). */
  readonly s3: S3Client
  readonly sqs: SQSClient
}

const headerValue = (value: string | ReadonlyArray<string> | number | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(",") : String(value)

const attempt = <A>(what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (error) =>
      new EmulatorError({ message: `${what}: ${error instanceof Error ? error.message : String(error)}` })
  })

/** Starts fauxqs with imgpipe's buckets and queues; everything stops when the scope closes. */
export const makeAwsEmulator = (options: EmulatorOptions): Effect.Effect<AwsEmulator, EmulatorError, Scope.Scope> =>
  Effect.gen(function* () {
    const created = yield* Effect.acquireRelease(Queue.unbounded<CreatedObject>(), Queue.shutdown)
    const verify = options.verifyPresignedUrls ?? true
    // Object sizes of copies are looked up after the fact; this client exists before listening.
    let s3ForCopies: S3Client | undefined

    const app = buildApp({ logger: false, defaultRegion: options.region })

    installS3Behaviour(app, {
      verifyPresignedUrls: verify,
      keys: options.keys,
      privateBuckets: [options.rawBucket, options.processedBucket],
      publicReadBucket: options.anonymousRenditionReads ?? true ? options.processedBucket : undefined
    })

    app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method !== "PUT" || reply.statusCode !== 200) return
      const { bucket, key, query } = s3Target(request)
      // A tagging PUT changes no object (object-tagging.ts answers it): no ObjectCreated.
      if (query?.["tagging"] !== undefined) return
      if (bucket === undefined || key === undefined || key.length === 0) return // a bucket, not an object
      if (query?.["uploadId"] !== undefined) return // a multipart part, not an object yet
      const isCopy = request.headers["x-amz-copy-source"] !== undefined
      const eTag = (headerValue(reply.getHeader("etag")) ?? "").replace(/"/g, "")
      const base = {
        bucket,
        key,
        sourceIp: request.ip,
        requestId: headerValue(reply.getHeader("x-amz-request-id")) ?? randomBytes(8).toString("hex").toUpperCase(),
        time: new Date()
      }
      if (!isCopy) {
        const decoded = Number(headerValue(request.headers["x-amz-decoded-content-length"]))
        const size = Number.isInteger(decoded) ? decoded : Buffer.isBuffer(request.body) ? request.body.length : 0
        Queue.unsafeOffer(created, { ...base, eventName: "ObjectCreated:Put", size, eTag })
        return
      }
      const head = await s3ForCopies?.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)
      Queue.unsafeOffer(created, {
        ...base,
        eventName: "ObjectCreated:Copy",
        size: head?.ContentLength ?? 0,
        eTag: (head?.ETag ?? "").replace(/"/g, "")
      })
    })

    const address = yield* Effect.acquireRelease(
      attempt("start fauxqs", () => app.listen({ port: options.port, host: "127.0.0.1" })),
      () => Effect.promise(() => app.close())
    )
    const endpoint = String(address).replace(/\/$/, "")
    const clientConfig = { region: options.region, endpoint, credentials: options.keys }
    const s3 = yield* Effect.acquireRelease(
      Effect.sync(() => new S3Client({ ...clientConfig, forcePathStyle: true })),
      (client) => Effect.sync(() => client.destroy())
    )
    s3ForCopies = s3
    const sqs = yield* Effect.acquireRelease(
      Effect.sync(() => new SQSClient(clientConfig)),
      (client) => Effect.sync(() => client.destroy())
    )

    for (const bucket of [options.rawBucket, options.processedBucket]) {
      yield* attempt(`create bucket ${bucket}`, () => s3.send(new CreateBucketCommand({ Bucket: bucket })))
    }

    const createQueue = (name: string, attributes: Record<string, string>) =>
      Effect.gen(function* () {
        const out = yield* attempt(`create queue ${name}`, () =>
          sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
        const url = out.QueueUrl
        if (url === undefined) {
          return yield* new EmulatorError({ message: `queue ${name} has no URL` })
        }
        const attrs = yield* attempt(`read queue ${name}`, () =>
          sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] })))
        const arn = attrs.Attributes?.["QueueArn"]
        if (arn === undefined) {
          return yield* new EmulatorError({ message: `queue ${name} has no ARN` })
        }
        return { name, url, arn } satisfies QueueInfo
      })

    // As in AWS: the dead-letter queue keeps messages longer than its sources (14 days).
    const deadLetterQueue = yield* createQueue(options.deadLetterQueueName, { MessageRetentionPeriod: "1209600" })
    const redrive = JSON.stringify({
      deadLetterTargetArn: deadLetterQueue.arn,
      maxReceiveCount: String(options.maxReceiveCount)
    })
    const queueList = yield* Effect.forEach(IMAGE_SIZES, (size) =>
      Effect.map(
        createQueue(options.queueNames[size], {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds),
          RedrivePolicy: redrive
        }),
        (info) => [size, info] as const
      ))
    const queues = Object.fromEntries(queueList) as Record<ImageSize, QueueInfo>

    // The ingest queue keeps notifications 14 days (as in AWS) and has a dead-letter queue of its own:
    // what lands there is an upload whose processing never started, not a resize job.
    const ingestDeadLetterQueue = yield* createQueue(options.ingestDeadLetterQueueName, {
      MessageRetentionPeriod: "1209600"
    })
    const ingestQueue = yield* createQueue(options.ingestQueueName, {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      MessageRetentionPeriod: "1209600",
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: ingestDeadLetterQueue.arn,
        maxReceiveCount: String(options.maxReceiveCount)
      })
    })

    // Webhook deliveries: one message per attempt (delayed by the backoff), a DLQ of their own
    // that DeliverWebhook fills with the deliveries that gave up (the redrive policy is a safety net).
    const webhookDeadLetterQueue = yield* createQueue(options.webhookDeadLetterQueueName, {
      MessageRetentionPeriod: "1209600"
    })
    const webhookQueue = yield* createQueue(options.webhookQueueName, {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      MessageRetentionPeriod: "1209600",
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: webhookDeadLetterQueue.arn,
        maxReceiveCount: String(options.maxReceiveCount)
      })
    })

    const cdnUrl = options.anonymousRenditionReads ?? true ? `${endpoint}/${options.processedBucket}` : undefined

    return {
      endpoint,
      cdnUrl,
      region: options.region,
      keys: options.keys,
      buckets: { raw: options.rawBucket, processed: options.processedBucket },
      queues,
      deadLetterQueue,
      ingestQueue,
      ingestDeadLetterQueue,
      webhookQueue,
      webhookDeadLetterQueue,
      objectCreated: created,
      env: {
        AWS_REGION: options.region,
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: options.keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: options.keys.secretAccessKey,
        IMGPIPE_RAW_BUCKET: options.rawBucket,
        IMGPIPE_PROCESSED_BUCKET: options.processedBucket,
        IMGPIPE_QUEUE_SMALL_URL: queues.small.url,
        IMGPIPE_QUEUE_MEDIUM_URL: queues.medium.url,
        IMGPIPE_QUEUE_LARGE_URL: queues.large.url,
        IMGPIPE_MAX_RECEIVES: String(options.maxReceiveCount),
        IMGPIPE_WEBHOOK_QUEUE_URL: webhookQueue.url,
        IMGPIPE_WEBHOOK_DLQ_URL: webhookDeadLetterQueue.url,
        // Renditions at stable unsigned URLs, as CloudFront serves them in AWS (IMGPIPE_DELIVERY=cdn).
        ...(cdnUrl === undefined ? {} : { IMGPIPE_CDN_URL: cdnUrl })
      },
      s3,
      sqs
    } satisfies AwsEmulator
  })

/**
 * The spec's resource names for a stage, e.g. `raw-image-local`, `process-small-image-local`,
 * `image-uploaded-local`, `webhooks-local` (as packages/infra/settings.ts names them in AWS).
 */
export const stageNames = (stage: string) => ({
  rawBucket: `raw-image-${stage}`,
  processedBucket: `processed-image-${stage}`,
  queueNames: {
    small: `process-small-image-${stage}`,
    medium: `process-medium-image-${stage}`,
    large: `process-large-image-${stage}`
  },
  deadLetterQueueName: `process-image-dlq-${stage}`,
  ingestQueueName: `image-uploaded-${stage}`,
  ingestDeadLetterQueueName: `image-uploaded-dlq-${stage}`,
  webhookQueueName: `webhooks-${stage}`,
  webhookDeadLetterQueueName: `webhooks-dlq-${stage}`
})
