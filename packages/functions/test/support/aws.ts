/**
 * The AWS path on this machine, for tests: the emulator (fauxqs with imgpipe's buckets and queues,
 * presigned-URL checks and object-created reports), the two Lambda handlers built exactly as
 * `LambdaHandler.make` builds them (a `ManagedRuntime` of the function's layer, `runPromise` per
 * invocation) over the shared test database, the ECS API on a real HTTP server, and — when asked —
 * the event sources running in the background as AWS would run them.
 *
 * Settings reach every layer through a `ConfigProvider` holding the same variables the emulator
 * prints for `start:aws-local`, so the layers under test are the production ones.
 */
import { S3Client } from "@aws-sdk/client-s3"
import { SQSClient } from "@aws-sdk/client-sqs"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { makeHttpServer } from "@imgpipe/api/Http"
import { ApiServices } from "@imgpipe/api/layers"
import { ImageRepository } from "@imgpipe/core"
import { S3ClientInstance } from "@imgpipe/core/aws/S3Storage"
import { SQSClientInstance } from "@imgpipe/core/aws/SqsQueue"
import type { Database } from "@imgpipe/core/sql/client"
import { TestDatabase } from "@imgpipe/core/test/support/database"
import { logRequests, type RequestLog } from "@imgpipe/core/test/support/fauxqs"
import type { S3Event, SQSBatchResponse, SQSEvent } from "aws-lambda"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime, type Scope } from "effect"
import { createServer } from "node:http"
import { ProcessImageServices, StartProcessingServices } from "../../src/layers.js"
import { type AwsEmulator, makeAwsEmulator, stageNames } from "../../src/local/emulator.js"
import {
  type LambdaFunction,
  runIngestEventSource,
  runS3Notifications,
  runSqsEventSources
} from "../../src/local/event-sources.js"
import { processImageHandler } from "../../src/process-image.js"
import { startProcessingHandler, type StartProcessingSummary } from "../../src/start-processing.js"

export const KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" } as const

/** Short, so retries and dead-lettering take seconds; long enough that a normal job is not redelivered. */
export const VISIBILITY_TIMEOUT_SECONDS = 2

export interface AwsHarness {
  readonly emulator: AwsEmulator
  /** StartProcessing invoked with a direct S3 event: its summary. */
  readonly startProcessing: LambdaFunction<S3Event, StartProcessingSummary>
  /** StartProcessing invoked by the ingest queue's mapping: its batch response. */
  readonly startProcessingSqs: LambdaFunction<SQSEvent, SQSBatchResponse>
  readonly processImage: LambdaFunction<SQSEvent, SQSBatchResponse>
  readonly apiUrl: string
  /** Requests the functions and the API send (their own SDK clients). */
  readonly requests: RequestLog
  /** Requests the event source mapping sends (ReceiveMessage, DeleteMessageBatch). */
  readonly mappingRequests: RequestLog
  /** Clients for the test's own checks, counted nowhere. */
  readonly admin: { readonly s3: S3Client; readonly sqs: SQSClient }
  readonly repository: ImageRepository["Type"]
}

export class Aws extends Context.Tag("test/Aws")<Aws, AwsHarness>() {}

/** A `ManagedRuntime` for one function's layer, disposed with the scope (Lambda's container). */
const functionRuntime = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.acquireRelease(Effect.sync(() => ManagedRuntime.make(layer)), (runtime) => runtime.disposeEffect)

export interface HarnessOptions {
  /** Run the S3 notifications (to the ingest queue) and the SQS event source mappings in the background. */
  readonly eventSources: boolean
  /** More settings for the functions and the API (e.g. `IMGPIPE_KEEP_ORIGINALS`). */
  readonly env?: Readonly<Record<string, string>>
}

const makeHarness = (options: HarnessOptions): Effect.Effect<AwsHarness, unknown, Scope.Scope | Database> =>
  Effect.gen(function* () {
    const database = yield* Effect.context<Database>()
    const emulator = yield* makeAwsEmulator({
      port: 0,
      region: "us-east-1",
      keys: KEYS,
      ...stageNames("test"),
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: 3
    })
    const env = { ...emulator.env, IMGPIPE_LOG_LEVEL: "Error", IMGPIPE_BATCH_CONCURRENCY: "2", ...options.env }
    const configured = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
      layer.pipe(
        Layer.provide(Layer.succeedContext(database)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )

    const start = yield* functionRuntime(configured(StartProcessingServices))
    const process = yield* functionRuntime(configured(ProcessImageServices))
    const api = yield* Layer.build(
      makeHttpServer({ logRequests: false }).pipe(
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
        Layer.provideMerge(configured(ApiServices))
      )
    )
    const address = Context.get(api, HttpServer.HttpServer).address
    const apiUrl = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""

    const requests = logRequests([
      yield* start.runtimeEffect.pipe(Effect.map((rt) => Context.get(rt.context, SQSClientInstance.SQSClientInstance))),
      yield* process.runtimeEffect.pipe(Effect.map((rt) => Context.get(rt.context, S3ClientInstance.S3ClientInstance))),
      Context.get(api, S3ClientInstance.S3ClientInstance)
    ])
    const mappingRequests = logRequests([emulator.sqs])

    const clientConfig = { region: emulator.region, endpoint: emulator.endpoint, credentials: KEYS }
    const admin = {
      s3: yield* Effect.acquireRelease(
        Effect.sync(() => new S3Client({ ...clientConfig, forcePathStyle: true })),
        (c) => Effect.sync(() => c.destroy())
      ),
      sqs: yield* Effect.acquireRelease(
        Effect.sync(() => new SQSClient(clientConfig)),
        (c) => Effect.sync(() => c.destroy())
      )
    }

    // What `LambdaHandler.make` returns: the effect handler run on the function's runtime.
    const startProcessing: LambdaFunction<SQSEvent | S3Event, SQSBatchResponse | StartProcessingSummary> = (
      event,
      context
    ) => start.runPromise(startProcessingHandler(event, context))
    const harness: AwsHarness = {
      emulator,
      startProcessing: (event, context) =>
        startProcessing(event, context).then((out) =>
          "started" in out ? out : Promise.reject(new Error(`an S3 event answered ${JSON.stringify(out)}`))
        ),
      startProcessingSqs: (event, context) =>
        startProcessing(event, context).then((out) =>
          "batchItemFailures" in out ? out : Promise.reject(new Error(`an SQS event answered ${JSON.stringify(out)}`))
        ),
      processImage: (event, context) => process.runPromise(processImageHandler(event, context)),
      apiUrl,
      requests,
      mappingRequests,
      admin,
      repository: Context.get(api, ImageRepository)
    }

    if (options.eventSources) {
      const mapping = { batchSize: 10, waitTimeSeconds: 1, timeoutMs: 30_000 }
      yield* Effect.forkScoped(runS3Notifications(emulator))
      yield* runIngestEventSource(emulator, harness.startProcessingSqs, mapping)
      yield* runSqsEventSources(emulator, harness.processImage, mapping)
    }
    return harness
  })

/** The harness on a fresh test database (PGlite, or PostgreSQL with TEST_DATABASE_URL). */
export const AwsLive = (options: HarnessOptions) =>
  Layer.scoped(Aws, makeHarness(options)).pipe(Layer.provide(TestDatabase), Layer.orDie)
