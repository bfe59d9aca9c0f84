/**
 * The reconcile use case with the AWS queue (SQS on fauxqs) and the real database: the re-sent
 * jobs land on the size queues as `{ image_id, raw_key, size }`; SQS cannot say which images have
 * queued jobs, so the time window alone decides; a send SQS refuses rolls the claim back.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { S3StorageLive } from "../src/aws/S3Storage.js"
import { SqsQueueLive } from "../src/aws/SqsQueue.js"
import { ReconcileSettingsLive, SettingsLive } from "../src/config.js"
import { newImageId } from "../src/domain/ids.js"
import { IMAGE_SIZES, type ImageSize, rawKey, renditionKey } from "../src/domain/sizes.js"
import { ImageRepository } from "../src/services/ImageRepository.js"
import { JobQueue } from "../src/services/JobQueue.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { reconcile } from "../src/usecases/reconcile.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"
import { type Fauxqs, receiveBodies, startFauxqs } from "./support/fauxqs.js"
import { backdateProgress, backdateUploadExpiry, resetAll, stallState } from "./support/reconcile.js"

class Emulator extends Context.Tag("test/Emulator")<Emulator, Fauxqs>() {}

const QUEUES: Readonly<Record<ImageSize, string>> = { small: "r-small", medium: "r-medium", large: "r-large" }

const RAW = "r-raw"
const PROCESSED = "r-processed"

const EmulatorLive = Layer.scoped(
  Emulator,
  startFauxqs({ buckets: [RAW, PROCESSED], queues: IMAGE_SIZES.map((size) => ({ name: QUEUES[size] })) })
)

/** S3 on fauxqs: the reconciler HEADs uploads past their expiry before expiring them. */
const StorageLive = Layer.unwrapEffect(
  Effect.map(Emulator, (emulator) =>
    S3StorageLive.pipe(
      Layer.provide(
        Layer.setConfigProvider(
          emulator.configProvider({ IMGPIPE_RAW_BUCKET: RAW, IMGPIPE_PROCESSED_BUCKET: PROCESSED })
        )
      )
    ))
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

const TestLayer = Layer.mergeAll(ImageRepositorySql, queueLayer(false), StorageLive).pipe(
  Layer.provideMerge(Layer.mergeAll(SettingsLive, ReconcileSettingsLive)),
  Layer.provideMerge(TestDatabase),
  Layer.provideMerge(EmulatorLive)
)

const receiveAll = (size: ImageSize) =>
  Effect.flatMap(Emulator, (emulator) => receiveBodies(emulator.sqs, emulator.queueUrls[QUEUES[size]] ?? ""))

const stalledImage = (ready: ReadonlyArray<ImageSize>) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const id = yield* newImageId
    yield* repo.create({
      id,
      declaredContentType: "image/png",
      declaredBytes: 1000,
      uploadExpiresAt: new Date(Date.now() + 900_000)
    })
    yield* repo.markUploaded([{ id, bytes: 1000 }])
    for (const size of ready) {
      yield* repo.recordRendition(id, size, {
        key: renditionKey(id, size),
        width: 1,
        height: 1,
        bytes: 1,
        contentType: "image/png"
      }, IMAGE_SIZES)
    }
    yield* backdateProgress(id, 901)
    return id
  })

layer(TestLayer, { timeout: 60_000, excludeTestServices: true })(
  `reconcile with SQS (fauxqs) on ${testDatabaseKind}`,
  (it) => {
    it.effect("re-sent jobs land on the SQS size queues; SQS cannot tell a backlog, so time alone decides", () =>
      Effect.gen(function* () {
        yield* resetAll
        const queue = yield* JobQueue
        const id = yield* stalledImage(["medium"])
        // A job of this image already waits on SQS: the queue cannot say so.
        yield* queue.send([{ image_id: id, raw_key: id, size: "small" }])
        expect(Option.isNone(yield* queue.imagesWithLiveJobs([id]))).toBe(true)

        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 1, failed: 0, backlogged: 0 })
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

    it.effect("an upload in S3 whose notification was lost is started, its jobs on SQS; one never uploaded expires", () =>
      Effect.gen(function* () {
        yield* resetAll
        for (const size of IMAGE_SIZES) yield* receiveAll(size)
        const emulator = yield* Emulator
        const repo = yield* ImageRepository
        const [stored, absent] = [yield* newImageId, yield* newImageId]
        for (const id of [stored, absent]) {
          yield* repo.create({
            id,
            declaredContentType: "image/png",
            declaredBytes: 10,
            uploadExpiresAt: new Date(Date.now() + 900_000)
          })
          yield* backdateUploadExpiry(id, 86_401)
        }
        yield* Effect.promise(() =>
          emulator.s3.send(
            new PutObjectCommand({
              Bucket: RAW,
              Key: rawKey(stored),
              Body: new Uint8Array(10),
              ContentType: "image/png"
            })
          )
        )

        expect(yield* reconcile).toEqual({ expired: 1, arrived: 1, resent: 0, failed: 0, backlogged: 0 })
        for (const size of IMAGE_SIZES) {
          expect(yield* receiveAll(size)).toEqual([{ image_id: stored, raw_key: rawKey(stored), size }])
        }
        expect(yield* stallState(absent)).toEqual({ status: "expired", stall_resends: 0 })
        expect(yield* stallState(stored)).toEqual({ status: "processing", stall_resends: 0 })
      }))
  }
)
