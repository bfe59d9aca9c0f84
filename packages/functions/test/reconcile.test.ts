/**
 * The Reconcile Lambda handler on the emulated AWS path: fauxqs (S3 + SQS), the test database
 * (PGlite, or PostgreSQL with TEST_DATABASE_URL), each function's production layer run as
 * `LambdaHandler.make` runs it. A stalled image is re-sent to the SQS size queues and ProcessImage
 * finishes it; jobs lost twice end `failed` / `processing_failed`; an upload that never arrived
 * ends `expired`.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3"
import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { type ImageId, ImageRepository, type ImageSize, newImageId, rawKey } from "@imgpipe/core"
import type { Database } from "@imgpipe/core/sql/client"
import { TestDatabase, testDatabaseKind } from "@imgpipe/core/test/support/database"
import { backdateProgress, backdateUploadExpiry, resetAll, stallState } from "@imgpipe/core/test/support/reconcile"
import type { SQSEvent } from "aws-lambda"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime, Option, type Scope } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { ProcessImageServices, ReconcileServices } from "../src/layers.js"
import { type AwsEmulator, makeAwsEmulator, stageNames } from "../src/local/emulator.js"
import { invoke, type LambdaFunction, pollOnce } from "../src/local/event-sources.js"
import { processImageHandler } from "../src/process-image.js"
import { reconcileHandler, type ScheduledEvent } from "../src/reconcile.js"

const KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" } as const
const SIZES = ["small", "medium", "large"] as const

interface Harness {
  readonly emulator: AwsEmulator
  readonly reconcile: LambdaFunction<ScheduledEvent, unknown>
  readonly processImage: LambdaFunction<SQSEvent, unknown>
  readonly repository: ImageRepository["Type"]
}
class Aws extends Context.Tag("test/ReconcileAws")<Aws, Harness>() {}

const makeHarness: Effect.Effect<Harness, unknown, Scope.Scope | Database> = Effect.gen(function* () {
  const database = yield* Effect.context<Database>()
  const emulator = yield* makeAwsEmulator({
    port: 0,
    region: "us-east-1",
    keys: KEYS,
    ...stageNames("test"),
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3
  })
  const env = { ...emulator.env, IMGPIPE_LOG_LEVEL: "Error" }
  const configured = <A, E>(services: Layer.Layer<A, E, Database>) =>
    services.pipe(
      Layer.provide(Layer.succeedContext(database)),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    )
  // What `LambdaHandler.make` does: one runtime per function (container), `runPromise` per invocation.
  const reconcile = yield* Effect.acquireRelease(
    Effect.sync(() => ManagedRuntime.make(configured(ReconcileServices))),
    (runtime) => runtime.disposeEffect
  )
  const process = yield* Effect.acquireRelease(
    Effect.sync(() => ManagedRuntime.make(configured(ProcessImageServices))),
    (runtime) => runtime.disposeEffect
  )
  const context = yield* reconcile.runtimeEffect
  return {
    emulator,
    reconcile: (event, lambda) => reconcile.runPromise(reconcileHandler(event, lambda)),
    processImage: (event, lambda) => process.runPromise(processImageHandler(event, lambda)),
    repository: Context.get(context.context, ImageRepository)
  }
})

const TestLayer = Layer.scoped(Aws, makeHarness).pipe(Layer.provideMerge(TestDatabase), Layer.orDie)

const scheduled = (): ScheduledEvent => ({
  version: "0",
  id: "00000000-0000-0000-0000-000000000000",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "000000000000",
  time: new Date().toISOString(),
  region: "us-east-1",
  resources: ["arn:aws:events:us-east-1:000000000000:rule/Reconcile"],
  detail: {}
})

/** One scheduled invocation, through the emulator's `invoke` (timeout as the function's). */
const runReconcile = Effect.flatMap(
  Aws,
  (aws) => invoke(aws.reconcile, scheduled(), { functionName: "Reconcile", region: "us-east-1", timeoutMs: 60_000 })
).pipe(Effect.orDie)

const bytes = new Uint8Array(
  readFileSync(resolve(import.meta.dirname, "../../core/test/fixtures/images/photo-1280x1024-grass-progressive.jpg"))
)

/** The original is in the raw bucket and the image `processing`, but its jobs were lost. */
const stalledUpload = Effect.gen(function* () {
  const { emulator, repository } = yield* Aws
  const id = yield* newImageId
  yield* repository.create({
    id,
    declaredContentType: "image/jpeg",
    declaredBytes: bytes.byteLength,
    uploadExpiresAt: new Date(Date.now() + 900_000)
  })
  yield* Effect.promise(() =>
    emulator.s3.send(
      new PutObjectCommand({ Bucket: emulator.buckets.raw, Key: rawKey(id), Body: bytes, ContentType: "image/jpeg" })
    )
  )
  yield* repository.markUploaded([{ id, bytes: bytes.byteLength }])
  yield* backdateProgress(id, 901)
  return id
}).pipe(Effect.orDie)

/** Receives and deletes everything on a size queue: the bodies (jobs lost, as a test wants). */
const loseJobs = (size: ImageSize) =>
  Effect.gen(function* () {
    const { emulator } = yield* Aws
    const bodies: Array<unknown> = []
    for (;;) {
      const out = yield* Effect.promise(() =>
        emulator.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: emulator.queues[size].url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0
          })
        )
      )
      const messages = out.Messages ?? []
      if (messages.length === 0) return bodies
      for (const message of messages) {
        bodies.push(JSON.parse(message.Body ?? "null"))
        yield* Effect.promise(() =>
          emulator.sqs.send(
            new DeleteMessageCommand({ QueueUrl: emulator.queues[size].url, ReceiptHandle: message.ReceiptHandle })
          )
        )
      }
    }
  })

const view = (id: ImageId) =>
  Effect.flatMap(Aws, ({ repository }) => repository.find(id)).pipe(Effect.orDie, Effect.map(Option.getOrThrow))

layer(TestLayer, { timeout: 120_000, excludeTestServices: true })(
  `Reconcile handler on fauxqs and ${testDatabaseKind}`,
  (it) => {
    it.effect("a stalled image's jobs are sent to the SQS size queues once more, and ProcessImage makes it ready", () =>
      Effect.gen(function* () {
        yield* resetAll
        const aws = yield* Aws
        const id = yield* stalledUpload

        expect(yield* runReconcile).toEqual({ expired: 0, arrived: 0, resent: 1, failed: 0, backlogged: 0 })
        expect(yield* runReconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 })
        for (const size of SIZES) {
          const outcome = yield* pollOnce(aws.emulator, size, aws.processImage, {
            batchSize: 10,
            waitTimeSeconds: 0,
            timeoutMs: 60_000
          }).pipe(
            Effect.orDie
          )
          expect(outcome).toEqual({ size, received: 1, deleted: 1, retried: 0 })
        }
        const { image, renditions } = yield* view(id)
        expect(image.status).toBe("ready")
        expect(renditions.map((r) => r.status)).toEqual(["ready", "ready", "ready"])
      }))

    it.effect("jobs lost twice: the second stall ends failed / processing_failed", () =>
      Effect.gen(function* () {
        yield* resetAll
        const id = yield* stalledUpload
        expect(yield* runReconcile).toMatchObject({ resent: 1 })
        for (const size of SIZES) expect(yield* loseJobs(size)).toEqual([{ image_id: id, raw_key: id, size }])
        yield* backdateProgress(id, 901)

        expect(yield* runReconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 1, backlogged: 0 })
        for (const size of SIZES) expect(yield* loseJobs(size)).toEqual([])
        const { image } = yield* view(id)
        expect([image.status, image.errorCode]).toEqual(["failed", "processing_failed"])
        expect(image.errorMessage).toMatch(/stalled twice/)
        expect(yield* stallState(id)).toEqual({ status: "failed", stall_resends: 1 })
      }))

    it.effect("an upload that never arrived expires after its URL's expiry plus the grace", () =>
      Effect.gen(function* () {
        yield* resetAll
        const { repository } = yield* Aws
        const id = yield* newImageId
        yield* repository.create({
          id,
          declaredContentType: "image/png",
          declaredBytes: 10,
          uploadExpiresAt: new Date()
        }).pipe(Effect.orDie)
        yield* backdateUploadExpiry(id, 86_401)
        expect(yield* runReconcile).toEqual({ expired: 1, arrived: 0, resent: 0, failed: 0, backlogged: 0 })
        expect((yield* view(id)).image.status).toBe("expired")
      }))
  }
)
