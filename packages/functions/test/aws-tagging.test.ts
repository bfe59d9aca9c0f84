/**
 * Originals nobody needs expire (SYSTEM.md Processing step 5): ProcessImage tags the raw object of
 * a refused image `imgpipe-disposition=refused` and of a dead-lettered one `=dead-lettered`, which
 * the raw bucket's lifecycle expires (packages/infra/storage.ts); a redrive that succeeds removes
 * the tag again. Against the S3 emulator (fauxqs, whose missing object tagging the emulator adds:
 * src/local/object-tagging.ts) and the test database.
 */
import {
  CreateBucketCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand
} from "@aws-sdk/client-s3"
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { DISPOSITION_TAG, type ImageId, type ImageSize, ObjectStorage, parseImageId } from "@imgpipe/core"
import { S3StorageLive } from "@imgpipe/core/aws/S3Storage"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import type { SQSRecord } from "aws-lambda"
import { ConfigProvider, Duration, Effect, Layer, Option, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { lambdaContext } from "../src/local/event-sources.js"
import { parseTagging } from "../src/local/object-tagging.js"
import { Aws, AwsLive } from "./support/aws.js"

const fixtures = resolve(import.meta.dirname, "../../core/test/fixtures/images")
const fixture = (name: string) => new Uint8Array(readFileSync(resolve(fixtures, name)))
const context = (name: string) => lambdaContext(name, "us-east-1", 30_000)

/** The processed bucket of the second harness exists only once a test creates it. */
const LATER_BUCKET = "processed-image-later"

// ---- helpers ---------------------------------------------------------------------------------

const tagsOf = (key: string) =>
  Effect.flatMap(
    Aws,
    ({ admin, emulator }) =>
      Effect.promise(() => admin.s3.send(new GetObjectTaggingCommand({ Bucket: emulator.buckets.raw, Key: key })))
  ).pipe(Effect.map((out) => (out.TagSet ?? []).map((tag) => [tag.Key, tag.Value])))

const rawBytes = (key: string) =>
  Effect.flatMap(Aws, ({ admin, emulator }) =>
    Effect.promise(async () => {
      const out = await admin.s3.send(new GetObjectCommand({ Bucket: emulator.buckets.raw, Key: key }))
      return new Uint8Array(await out.Body!.transformToByteArray())
    }))

/** `POST /upload`: the record (awaiting_upload) and its presigned PUT. */
const requestUpload = (contentType: string, contentLength: number) =>
  Effect.gen(function* () {
    const { apiUrl } = yield* Aws
    const response = yield* Effect.promise(() =>
      fetch(`${apiUrl}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: contentType, content_length: contentLength })
      })
    )
    expect(response.status).toBe(201)
    const body = (yield* Effect.promise(() => response.json())) as {
      image_id: string
      upload: { url: string; headers: Record<string, string> }
    }
    return { id: Option.getOrThrow(parseImageId(body.image_id)), ...body.upload }
  })

const upload = (bytes: Uint8Array, contentType: string) =>
  Effect.gen(function* () {
    const ticket = yield* requestUpload(contentType, bytes.byteLength)
    const put = yield* Effect.promise(() => fetch(ticket.url, { method: "PUT", headers: ticket.headers, body: bytes }))
    expect(put.status).toBe(200)
    return ticket.id
  })

const find = (id: ImageId) =>
  Effect.flatMap(Aws, ({ repository }) => repository.find(id)).pipe(Effect.orDie, Effect.map(Option.getOrThrow))

const waitForStatus = (id: ImageId, status: string) =>
  find(id).pipe(
    Effect.filterOrFail((view) => view.image.status === status, () => `not ${status}`),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.seconds(30)))),
    Effect.orDie
  )

/** Until every size queue is empty: the pipeline's jobs are all processed and deleted. */
const waitQueuesDrained = Effect.gen(function* () {
  const { admin, emulator } = yield* Aws
  const depths = yield* Effect.forEach(
    ["small", "medium", "large"] as const,
    (size) =>
      Effect.promise(() =>
        admin.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: emulator.queues[size].url,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
          })
        )
      ).pipe(
        Effect.map((out) =>
          Number(out.Attributes?.["ApproximateNumberOfMessages"] ?? 0) +
          Number(out.Attributes?.["ApproximateNumberOfMessagesNotVisible"] ?? 0)
        )
      )
  )
  if (depths.some((depth) => depth > 0)) return yield* Effect.fail("queues not drained")
}).pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.seconds(30)))), Effect.orDie)

/** A size queue's record as the event source mapping hands it to ProcessImage. */
const job = (id: ImageId, size: ImageSize, receiveCount: number): SQSRecord => ({
  messageId: `${id}-${size}-${receiveCount}`,
  receiptHandle: `handle-${id}-${size}`,
  body: JSON.stringify({ image_id: id, raw_key: id, size }),
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: "1545082649183",
    SenderId: "AIDAIENQZJOLO23YVJ4VO",
    ApproximateFirstReceiveTimestamp: "1545082649185"
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:process-small-image-test",
  awsRegion: "us-east-1"
})

// ---- the whole path: presigned PUT, notification, StartProcessing, ProcessImage -----------------

layer(AwsLive({ eventSources: true }), { excludeTestServices: true, timeout: "120 seconds" })(
  `expiring originals, AWS path (fauxqs + ${testDatabaseKind})`,
  (it) => {
    it.effect("a refused upload's original is tagged refused, its bytes unchanged", () =>
      Effect.gen(function* () {
        const { requests } = yield* Aws
        const bad = fixture("not-an-image-text.jpg")
        requests.clear()
        const id = yield* upload(bad, "image/jpeg")
        const view = yield* waitForStatus(id, "failed")
        expect(view.image.errorCode).toBe("not_an_image")
        const tags = yield* tagsOf(id).pipe(
          Effect.filterOrFail((tags) => tags.length > 0, () => "not tagged yet"),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.seconds(10)))),
          Effect.orDie
        )
        expect(tags).toEqual([[DISPOSITION_TAG, "refused"]])
        // Tagging is no write of the object: the original is what the client uploaded.
        expect(yield* rawBytes(id)).toEqual(bad)
        const tagging = requests.sent.filter((r) => r.command === "S3Client.PutObjectTaggingCommand")
        expect(tagging.length).toBeGreaterThanOrEqual(1)
        expect(tagging.every((r) => r.input["Key"] === id)).toBe(true)
      }))

    it.effect("a later job for a refused image tags its original again (the first tagging may have failed)", () =>
      Effect.gen(function* () {
        const { admin, emulator, processImage } = yield* Aws
        const id = yield* upload(fixture("not-an-image-text.jpg"), "image/jpeg")
        yield* waitForStatus(id, "failed")
        // Let the pipeline's own jobs finish, then lose the tag as a failed PutObjectTagging would.
        yield* waitQueuesDrained
        yield* Effect.promise(() =>
          admin.s3.send(new DeleteObjectTaggingCommand({ Bucket: emulator.buckets.raw, Key: id }))
        )
        expect(yield* tagsOf(id)).toEqual([])
        const result = yield* Effect.promise(() =>
          processImage({ Records: [job(id, "medium", 1)] }, context("ProcessImage"))
        )
        expect(result.batchItemFailures).toEqual([])
        expect(yield* tagsOf(id)).toEqual([[DISPOSITION_TAG, "refused"]])
      }))

    it.effect("an image that ends ready keeps an untagged original (and costs no tagging request)", () =>
      Effect.gen(function* () {
        const { requests } = yield* Aws
        requests.clear()
        const id = yield* upload(fixture("photo-246x345.tiff"), "image/tiff")
        yield* waitForStatus(id, "ready")
        expect(yield* tagsOf(id)).toEqual([])
        expect(requests.sent.filter((r) => r.command.includes("Tagging"))).toEqual([])
      }))
  }
)

// ---- the last delivery of a failing job, and its redrive -------------------------------------

layer(AwsLive({ eventSources: false, env: { IMGPIPE_PROCESSED_BUCKET: LATER_BUCKET } }), {
  excludeTestServices: true,
  timeout: "120 seconds"
})(`dead-lettered originals, AWS path (fauxqs + ${testDatabaseKind})`, (it) => {
  it.effect("the last failed delivery tags the original dead-lettered; the redrive that succeeds removes the tag", () =>
    Effect.gen(function* () {
      const { admin, emulator, processImage } = yield* Aws
      const photo = fixture("photo-246x345.tiff")
      const ticket = yield* requestUpload("image/tiff", photo.byteLength)
      yield* Effect.promise(() =>
        admin.s3.send(
          new PutObjectCommand({ Bucket: emulator.buckets.raw, Key: ticket.id, Body: photo, ContentType: "image/tiff" })
        )
      )

      // Writing the rendition fails (the bucket is missing): transient. Not the last delivery yet…
      const first = yield* Effect.promise(() =>
        processImage({ Records: [job(ticket.id, "small", 1)] }, context("ProcessImage"))
      )
      expect(first.batchItemFailures).toHaveLength(1)
      expect(yield* tagsOf(ticket.id)).toEqual([])
      // …then the last one (maxReceiveCount 3): recorded, and the original tagged.
      const last = yield* Effect.promise(() =>
        processImage({ Records: [job(ticket.id, "small", 3)] }, context("ProcessImage"))
      )
      expect(last.batchItemFailures).toHaveLength(1)
      const failed = yield* find(ticket.id)
      expect([failed.image.status, failed.image.errorCode]).toEqual(["failed", "processing_failed"])
      expect(yield* tagsOf(ticket.id)).toEqual([[DISPOSITION_TAG, "dead-lettered"]])

      // The cause is fixed and the messages redriven: the image ends ready and keeps its original.
      yield* Effect.promise(() => admin.s3.send(new CreateBucketCommand({ Bucket: LATER_BUCKET })))
      const redriven = yield* Effect.promise(() =>
        processImage(
          { Records: (["small", "medium", "large"] as const).map((size) => job(ticket.id, size, 1)) },
          context("ProcessImage")
        )
      )
      expect(redriven.batchItemFailures).toEqual([])
      expect((yield* find(ticket.id)).image.status).toBe("ready")
      expect(yield* tagsOf(ticket.id)).toEqual([])
      expect(yield* rawBytes(ticket.id)).toEqual(photo)
    }))

  it.effect("S3 storage: marks, re-marks and clears an original; a missing one is no error", () =>
    Effect.gen(function* () {
      const { admin, emulator } = yield* Aws
      const storageLayer = S3StorageLive.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env)))))
      )
      const key = "0190a0b0-0000-7000-8000-00000000b001"
      yield* Effect.promise(() =>
        admin.s3.send(
          new PutObjectCommand({ Bucket: emulator.buckets.raw, Key: key, Body: "original", ContentType: "image/jpeg" })
        )
      )
      yield* Effect.gen(function* () {
        const storage = yield* ObjectStorage
        yield* storage.markOriginal(key, Option.some("dead-lettered"))
        expect(yield* tagsOf(key)).toEqual([[DISPOSITION_TAG, "dead-lettered"]])
        // The tag set is replaced, not added to: one disposition at a time.
        yield* storage.markOriginal(key, Option.some("refused"))
        expect(yield* tagsOf(key)).toEqual([[DISPOSITION_TAG, "refused"]])
        yield* storage.markOriginal(key, Option.none())
        expect(yield* tagsOf(key)).toEqual([])
        // An original already gone needs no expiry.
        yield* storage.markOriginal("0190a0b0-0000-7000-8000-00000000b0ff", Option.some("refused"))
      }).pipe(Effect.provide(storageLayer))
      expect(new TextDecoder().decode(yield* rawBytes(key))).toBe("original")
    }))

  it("the emulator's tagging parser reads S3's Tagging document, entities included", () => {
    expect(
      parseTagging(
        "<?xml version=\"1.0\"?><Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>" +
          "<Tag><Key>a&amp;b</Key><Value>x&lt;y</Value></Tag><Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>"
      )
    ).toEqual([{ key: "a&b", value: "x<y" }, { key: "k", value: "" }])
  })
})
