/**
 * StartProcessing behind the ingest queue: S3's notifications arrive as the bodies of SQS messages,
 * a batch at a time, and the handler answers `{ batchItemFailures }`. Against the emulated AWS
 * path (fauxqs) and the test database; the event source mapping is stepped by hand.
 */
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { DatabaseError, type ImageId, ImageRepository, parseImageId, SettingsLive } from "@imgpipe/core"
import { SqsQueueLive } from "@imgpipe/core/aws/SqsQueue"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import type { Context as LambdaContext, S3Event, SQSEvent, SQSRecord } from "aws-lambda"
import { ConfigProvider, Effect, Layer, Option, Queue } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import type { CreatedObject } from "../src/local/emulator.js"
import {
  lambdaContext,
  notifyIngestQueue,
  pollIngestOnce,
  s3EventRecord,
  s3TestEvent
} from "../src/local/event-sources.js"
import { startProcessingHandler } from "../src/start-processing.js"
import { Aws, AwsLive } from "./support/aws.js"

const image = new Uint8Array(
  readFileSync(resolve(import.meta.dirname, "../../core/test/fixtures/images/photo-246x345.tiff"))
)
const context = lambdaContext("StartProcessing", "us-east-1", 30_000)
const mapping = { batchSize: 10, waitTimeSeconds: 0, timeoutMs: 30_000 }

/** POST /upload then the PUT to S3; the object S3 reports for it. */
const upload = Effect.gen(function* () {
  const { apiUrl, emulator } = yield* Aws
  const ticket = yield* Effect.promise(() =>
    fetch(`${apiUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content_type: "image/tiff", content_length: image.byteLength })
    }).then((r) => r.json() as Promise<{ image_id: string; upload: { url: string; headers: Record<string, string> } }>)
  )
  const put = yield* Effect.promise(() =>
    fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: image })
  )
  expect(put.status).toBe(200)
  let created = yield* Queue.take(emulator.objectCreated)
  while (created.bucket !== emulator.buckets.raw) created = yield* Queue.take(emulator.objectCreated)
  return { id: Option.getOrThrow(parseImageId(ticket.image_id)), object: created }
})

const statusOf = (id: ImageId) =>
  Effect.flatMap(Aws, ({ repository }) => repository.find(id)).pipe(
    Effect.orDie,
    Effect.map((view) => Option.getOrThrow(view).image.status)
  )

/** An SQS record of the ingest queue, as Lambda's mapping hands it over. */
const message = (messageId: string, body: unknown): SQSRecord => ({
  messageId,
  receiptHandle: `handle-${messageId}`,
  body: typeof body === "string" ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: "1545082649183",
    SenderId: "AIDAJHIPRHEMV73VRJEBU",
    ApproximateFirstReceiveTimestamp: "1545082649185"
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:image-uploaded-test",
  awsRegion: "us-east-1"
})

const notificationOf = (object: CreatedObject) => ({ Records: [s3EventRecord(object, "us-east-1")] })

/** Jobs per SendMessageBatch the function sent, by queue. */
const sentBatches = Effect.map(Aws, ({ requests }) =>
  requests.sent
    .filter((r) => r.command === "SQSClient.SendMessageBatchCommand")
    .map((r) =>
      [String(r.input["QueueUrl"]).split("/").pop(), (r.input["Entries"] as ReadonlyArray<unknown>).length] as const
    )
    .sort())

/** StartProcessing's handler with a database that is down: every statement fails. */
const withDatabaseDown = <A, E>(
  effect: Effect.Effect<A, E, Effect.Effect.Context<ReturnType<typeof startProcessingHandler>>>
) =>
  Effect.gen(function* () {
    const { emulator } = yield* Aws
    const down = new DatabaseError({ operation: "markUploaded", message: "connect ECONNREFUSED 10.0.0.1:5432" })
    const repository = new Proxy({} as ImageRepository["Type"], {
      get:
        (_, method) =>
        () => (method === "markUploaded" ? Effect.fail(down) : Effect.die(`unexpected ${String(method)}`))
    })
    const config = Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env))))
    return yield* effect.pipe(
      Effect.provide(
        Layer.mergeAll(Layer.succeed(ImageRepository, repository), SqsQueueLive, SettingsLive).pipe(
          Layer.provide(config)
        )
      )
    )
  })

layer(AwsLive({ eventSources: false }), { excludeTestServices: true, timeout: "60 seconds" })(
  `StartProcessing on the ingest queue (fauxqs + ${testDatabaseKind})`,
  (it) => {
    it.effect("several uploads in one SQS batch: one call starts them all, one SendMessageBatch per size queue", () =>
      Effect.gen(function* () {
        const { emulator, mappingRequests, requests, startProcessingSqs } = yield* Aws
        const uploads = yield* Effect.forEach([1, 2, 3, 4], () => upload)
        // S3's side: one message per object on the ingest queue.
        for (const { object } of uploads) yield* Effect.orDie(notifyIngestQueue(emulator, object))
        requests.clear()
        mappingRequests.clear()
        const outcome = yield* Effect.orDie(pollIngestOnce(emulator, startProcessingSqs, mapping))
        expect(outcome).toEqual({ received: 4, deleted: 4, retried: 0 })
        expect(yield* sentBatches).toEqual([
          ["process-large-image-test", 4],
          ["process-medium-image-test", 4],
          ["process-small-image-test", 4]
        ])
        expect(mappingRequests.counts()).toEqual({
          "SQSClient.ReceiveMessageCommand": 1,
          "SQSClient.DeleteMessageBatchCommand": 1
        })
        for (const { id } of uploads) expect(yield* statusOf(id)).toBe("processing")
      }))

    it.effect("a key repeated inside a batch is started once", () =>
      Effect.gen(function* () {
        const { requests, startProcessingSqs } = yield* Aws
        const { id, object } = yield* upload
        requests.clear()
        const answer = yield* Effect.promise(() =>
          startProcessingSqs(
            { Records: [message("a", notificationOf(object)), message("b", notificationOf(object))] },
            context
          )
        )
        expect(answer).toEqual({ batchItemFailures: [] })
        expect((yield* sentBatches).map(([, jobs]) => jobs)).toEqual([1, 1, 1])
        expect(yield* statusOf(id)).toBe("processing")
      }))

    it.effect("S3's test event and bodies that are no notification are acknowledged; the upload beside them starts", () =>
      Effect.gen(function* () {
        const { startProcessingSqs } = yield* Aws
        const { id, object } = yield* upload
        const answer = yield* Effect.promise(() =>
          startProcessingSqs(
            {
              Records: [
                message("test", s3TestEvent("raw-image-test")),
                message("not-json", "{ not json"),
                message("job", { image_id: id, raw_key: id, size: "small" }),
                message("upload", notificationOf(object))
              ]
            },
            context
          )
        )
        expect(answer).toEqual({ batchItemFailures: [] })
        expect(yield* statusOf(id)).toBe("processing")
      }))

    it.effect("the database down: every message that carried an upload is reported failed, and only those", () =>
      Effect.gen(function* () {
        const { emulator } = yield* Aws
        const objects = yield* Effect.forEach([1, 2], () => Effect.map(upload, (u) => u.object))
        const foreign = { ...objects[0]!, key: "not-an-image-id.jpg" }
        const event: SQSEvent = {
          Records: [
            message("m1", notificationOf(objects[0]!)),
            message("test", s3TestEvent(emulator.buckets.raw)),
            message("m2", notificationOf(objects[1]!)),
            message("removed", {
              Records: [{ ...s3EventRecord(objects[1]!, "us-east-1"), eventName: "ObjectRemoved:Delete" }]
            }),
            message("malformed", "[]"),
            message("foreign", notificationOf(foreign))
          ]
        }
        const answer = yield* withDatabaseDown(startProcessingHandler(event, context))
        // Not the test event, the removal, the malformed body, nor the key that is not an image id.
        expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }, { itemIdentifier: "m2" }] })
      }))

    it.effect("a direct S3 event still works, and with the database down its invocation fails for Lambda's retry", () =>
      Effect.gen(function* () {
        const { startProcessing } = yield* Aws
        const { id, object } = yield* upload
        const event: S3Event = notificationOf(object)
        const failed = yield* withDatabaseDown(Effect.flip(startProcessingHandler(event, context)))
        expect(failed).toMatchObject({ _tag: "StartProcessingFailed", failed: 1, total: 1 })
        expect(yield* statusOf(id)).toBe("awaiting_upload")
        expect(yield* Effect.promise(() => startProcessing(event, context))).toEqual({
          started: 1,
          alreadyHandled: 0,
          skipped: 0
        })
        expect(yield* statusOf(id)).toBe("processing")
      }))

    it.effect(
      "a batch that could not be started comes back, is dead-lettered after 3 receives, and starts once redriven",
      () =>
        Effect.gen(function* () {
          const harness = yield* Aws
          const { admin, emulator, startProcessingSqs } = harness
          const { id, object } = yield* upload
          yield* Effect.orDie(notifyIngestQueue(emulator, object))
          const down = (event: SQSEvent, lambda: LambdaContext) =>
            Effect.runPromise(
              withDatabaseDown(startProcessingHandler(event, lambda)).pipe(Effect.provideService(Aws, harness))
            )
          // Long polls outlast the visibility timeout (2 s): each poll gets the message back.
          const patient = { ...mapping, waitTimeSeconds: 4 }
          for (const attempt of [1, 2, 3]) {
            expect(yield* Effect.orDie(pollIngestOnce(emulator, down, patient)), `attempt ${attempt}`).toEqual({
              received: 1,
              deleted: 0,
              retried: 1
            })
          }
          expect(yield* Effect.orDie(pollIngestOnce(emulator, startProcessingSqs, patient))).toEqual({
            received: 0,
            deleted: 0,
            retried: 0
          })
          expect(yield* statusOf(id)).toBe("awaiting_upload")

          // The redrive (docs/deploy.md): the dead notification back onto the ingest queue.
          const dead = yield* Effect.promise(() =>
            admin.sqs.send(
              new ReceiveMessageCommand({ QueueUrl: emulator.ingestDeadLetterQueue.url, MaxNumberOfMessages: 10 })
            )
          )
          const deadKeys = (dead.Messages ?? []).map((m) =>
            (JSON.parse(m.Body ?? "{}") as S3Event).Records.map((r) => r.s3.object.key)
          )
          expect(deadKeys).toEqual([[object.key]])
          yield* Effect.promise(() =>
            admin.sqs.send(
              new SendMessageCommand({
                QueueUrl: emulator.ingestQueue.url,
                MessageBody: dead.Messages?.[0]?.Body ?? ""
              })
            )
          )
          expect(yield* Effect.orDie(pollIngestOnce(emulator, startProcessingSqs, mapping))).toEqual({
            received: 1,
            deleted: 1,
            retried: 0
          })
          expect(yield* statusOf(id)).toBe("processing")
        }),
      { timeout: 30_000 }
    )
  }
)
