/**
 * The reconcile use case with the AWS queue (SQS on fauxqs) and the real database: the re-sent
 * jobs land on the size queues as `{ image_id, raw_key, size }`; SQS cannot say which images have
 * queued jobs, so the time window alone decides; a send SQS refuses rolls the claim back.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { SqsQueueLive } from "../src/aws/SqsQueue.js"
import { ReconcileSettingsLive, SettingsLive } from "../src/config.js"
import { newImageId } from "../src/domain/ids.js"
import { IMAGE_SIZES, type ImageSize, renditionKey } from "../src/domain/sizes.js"
import { ImageRepository } from "../src/services/ImageRepository.js"
import { JobQueue } from "../src/services/JobQueue.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { reconcile } from "../src/usecases/reconcile.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"
import { type Fauxqs, startFauxqs } from "./support/fauxqs.js"
import { backdateProgress, resetAll, stallState } from "./support/reconcile.js"

class Emulator extends Context.Tag("test/Emulator")<Emulator, Fauxqs>() {}

const QUEUES: Readonly<Record<ImageSize, string>> = { small: "r-small", medium: "r-medium", large: "r-large" }

const EmulatorLive = Layer.scoped(
  Emulator,
  startFauxqs({ buckets: [], queues: IMAGE_SIZES.map((size) => ({ name: QUEUES[size] })) })
)

/** The SQS queue layer; `brokenLarge` points the large queue at one that does not exist. */
const queueLayer = (brokenLarge: boolean) =>
  Layer.unwrapEffect(
    Effect.map(Emulator, (emulator) =>
      SqsQueueLive.pipe(
        Layer.provide(Layer.setConfigProvider(emulator.configProvider({
          IMGPIPE_QUEUE_SMALL_URL: emulator.queueUrls[QUEUES.small] ?? "",
          IMGPIPE_QUEUE_MEDIUM_URL: emulator.queueUrls[QUEUES.medium] ?? "",
          IMGPIPE_QUEUE_LARGE_URL: brokenLarge
            ? `${emulator.endpoint}/000000000000/no-such-queue`
            : emulator.queueUrls[QUEUES.large] ?? ""
        })))
      ))
  )

const TestLayer = Layer.mergeAll(ImageRepositorySql, queueLayer(false)).pipe(
  Layer.provideMerge(Layer.mergeAll(SettingsLive, ReconcileSettingsLive)),
  Layer.provideMerge(TestDatabase),
  Layer.provideMerge(EmulatorLive)
)

const receiveAll = (size: ImageSize) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator
    const bodies: Array<unknown> = []
    for (;;) {
      const out = yield* Effect.promise(() =>
        emulator.sqs.send(new ReceiveMessageCommand({
          QueueUrl: emulator.queueUrls[QUEUES[size]],
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 600,
          WaitTimeSeconds: 0
        }))
      )
      const messages = out.Messages ?? []
      if (messages.length === 0) return bodies
      bodies.push(...messages.map((m) => JSON.parse(m.Body ?? "null")))
    }
  })

const stalledImage = (ready: ReadonlyArray<ImageSize>) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const id = yield* newImageId
    yield* repo.create({ id, declaredContentType: "image/png", declaredBytes: 1000, uploadExpiresAt: new Date(Date.now() + 900_000) })
    yield* repo.markUploaded([{ id, bytes: 1000 }])
    for (const size of ready) {
      yield* repo.recordRendition(id, size, { key: renditionKey(id, size), width: 1, height: 1, bytes: 1, contentType: "image/png" }, IMAGE_SIZES)
    }
    yield* backdateProgress(id, 901)
    return id
  })

layer(TestLayer, { timeout: 60_000, excludeTestServices: true })(`reconcile with SQS (fauxqs) on ${testDatabaseKind}`, (it) => {
  it.effect("re-sent jobs land on the SQS size queues; SQS cannot tell a backlog, so time alone decides", () =>
    Effect.gen(function* () {
      yield* resetAll
      const queue = yield* JobQueue
      const id = yield* stalledImage(["medium"])
      // A job of this image already waits on SQS: the queue cannot say so.
      yield* queue.send([{ image_id: id, raw_key: id, size: "small" }])
      expect(Option.isNone(yield* queue.imagesWithLiveJobs([id]))).toBe(true)

      expect(yield* reconcile).toEqual({ expired: 0, resent: 1, failed: 0, backlogged: 0 })
      expect(yield* receiveAll("small")).toEqual([
        { image_id: id, raw_key: id, size: "small" },
        { image_id: id, raw_key: id, size: "small" }
      ])
      expect(yield* receiveAll("medium")).toEqual([])
      expect(yield* receiveAll("large")).toEqual([{ image_id: id, raw_key: id, size: "large" }])
      expect(yield* stallState(id)).toEqual({ status: "processing", stall_resends: 1 })
    }))

  it.effect("a send SQS refuses rolls the claim back: the image is stalled as before, for the next run", () =>
    Effect.gen(function* () {
      yield* resetAll
      const id = yield* stalledImage([])
      const error = yield* Effect.flip(reconcile.pipe(Effect.provide(queueLayer(true))))
      expect(error._tag).toBe("QueueError")
      expect(yield* stallState(id)).toEqual({ status: "processing", stall_resends: 0 })
      // Sends to the other queues may have gone out: duplicates, which processing tolerates.
      yield* receiveAll("small")
      yield* receiveAll("medium")

      expect((yield* reconcile).resent).toBe(1)
      expect(yield* receiveAll("large")).toEqual([{ image_id: id, raw_key: id, size: "large" }])
    }))
})
