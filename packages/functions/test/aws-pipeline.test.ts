/**
 * The production AWS path end to end on this machine: the ECS API (S3 + the test database), a
 * presigned PUT to the S3 emulator, the S3 notification → the ingest queue → StartProcessing handler
 * → SQS → the event source mapping → ProcessImage handler → S3 and the database, then
 * `get_image`'s presigned GET.
 * Also the failure paths: refused uploads, duplicates, partial batch failures, dead-lettering.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3"
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import {
  type ImageId,
  type ImageSize,
  type ImageView,
  newImageId,
  parseImageId,
  RENDITION_CACHE_CONTROL
} from "@imgpipe/core"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import type { S3Event } from "aws-lambda"
import { Duration, Effect, Option, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { lambdaContext, s3EventRecord } from "../src/local/event-sources.js"
import { Aws, AwsLive } from "./support/aws.js"

const fixtures = resolve(import.meta.dirname, "../../core/test/fixtures/images")
const fixture = (name: string) => new Uint8Array(readFileSync(resolve(fixtures, name)))

const BOXES: Readonly<Record<ImageSize, number>> = { small: 320, medium: 1024, large: 2048 }
const SIZES = ["small", "medium", "large"] as const

// ---- helpers ---------------------------------------------------------------------------------

const json = (response: Response) => Effect.promise(() => response.json() as Promise<Record<string, unknown>>)

/** `POST /upload` on the API; the ticket as the client sees it. */
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
    const body = yield* json(response)
    const upload = body["upload"] as { url: string; headers: Record<string, string> }
    const id = Option.getOrThrow(parseImageId(body["image_id"]))
    return { id, url: upload.url, headers: upload.headers }
  })

/** The client's whole upload: ticket, then the PUT to S3. */
const upload = (bytes: Uint8Array, contentType: string) =>
  Effect.gen(function* () {
    const ticket = yield* requestUpload(contentType, bytes.byteLength)
    const put = yield* Effect.promise(() => fetch(ticket.url, { method: "PUT", headers: ticket.headers, body: bytes }))
    expect(put.status).toBe(200)
    return ticket.id
  })

const find = (id: ImageId) =>
  Effect.flatMap(Aws, ({ repository }) => repository.find(id)).pipe(Effect.orDie, Effect.map(Option.getOrThrow))

/** Polls the record until `done` holds (the pipeline runs in the background). */
const waitFor = (id: ImageId, done: (view: ImageView) => boolean, what: string, seconds = 30) =>
  find(id).pipe(
    Effect.filterOrFail(done, () => what),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.seconds(seconds)))),
    Effect.orDieWith((message) => new Error(`timed out waiting for ${id}: ${message}`))
  )

const whenReady = (id: ImageId) => waitFor(id, (v) => v.image.status === "ready", "ready")

const queueDepth = (url: string) =>
  Effect.flatMap(Aws, ({ admin }) =>
    Effect.promise(() =>
      admin.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        })
      )
    )).pipe(
      Effect.map((out) =>
        Number(out.Attributes?.["ApproximateNumberOfMessages"] ?? 0) +
        Number(out.Attributes?.["ApproximateNumberOfMessagesNotVisible"] ?? 0)
      )
    )

/** Until every size queue is empty: all jobs processed and deleted. */
const waitQueuesDrained = Effect.gen(function* () {
  const { emulator } = yield* Aws
  const depths = yield* Effect.forEach(SIZES, (size) => queueDepth(emulator.queues[size].url))
  if (depths.some((d) => d > 0)) return yield* Effect.fail("queues not drained")
}).pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(Duration.seconds(30)))), Effect.orDie)

/** What a duplicate must not change: the rows, and the processed objects (ETag, time, size). */
const snapshot = (id: ImageId) =>
  Effect.gen(function* () {
    const { admin, emulator } = yield* Aws
    const view = yield* find(id)
    const objects = yield* Effect.promise(() =>
      admin.s3.send(new ListObjectsV2Command({ Bucket: emulator.buckets.processed, Prefix: `${id}/` }))
    )
    return {
      image: view.image,
      renditions: [...view.renditions].sort((a, b) => a.size.localeCompare(b.size)),
      objects: (objects.Contents ?? []).map((o) => [o.Key, o.ETag, o.Size, o.LastModified?.getTime()])
    }
  })

/** The notification S3 sends for an object, for handing to StartProcessing by hand. */
const notification = (key: string, size: number) =>
  Effect.map(Aws, ({ emulator }) => ({
    Records: [
      s3EventRecord(
        {
          eventName: "ObjectCreated:Put",
          bucket: emulator.buckets.raw,
          key,
          size,
          eTag: "0123456789abcdef0123456789abcdef",
          sourceIp: "127.0.0.1",
          requestId: "TESTREQUEST",
          time: new Date()
        },
        emulator.region
      )
    ]
  }))

const context = (name: string) => lambdaContext(name, "us-east-1", 30_000)

// ---- tests -----------------------------------------------------------------------------------

// Presigned GETs (IMGPIPE_DELIVERY=signed), which this file checks; the default cdn delivery on the
// AWS path: aws-local-delivery.test.ts.
layer(AwsLive({ eventSources: true, env: { IMGPIPE_DELIVERY: "signed" } }), {
  excludeTestServices: true,
  timeout: "120 seconds"
})(
  `AWS path (fauxqs + ${testDatabaseKind})`,
  (it) => {
    it.effect("fixture photos go from POST /upload through S3, the ingest queue, StartProcessing, SQS and ProcessImage to ready", () =>
      Effect.gen(function* () {
        const { admin, emulator, requests } = yield* Aws
        const cases = [
          ["photo-1280x1024-grass-progressive.jpg", "image/jpeg", "image/jpeg"],
          ["photo-1024x772.webp", "image/webp", "image/jpeg"],
          ["alpha-2048x1536-rgba.png", "image/png", "image/webp"],
          ["photo-246x345.tiff", "image/tiff", "image/jpeg"],
          // Its first frame is opaque: JPEG.
          ["animated-370x285-10frames.gif", "image/gif", "image/jpeg"],
          ["exif-orientation-6.jpg", "image/jpeg", "image/jpeg"]
        ] as const
        requests.clear()
        const ids = yield* Effect.forEach(cases, ([file, type]) => upload(fixture(file), type), {
          concurrency: "unbounded"
        })
        const views = yield* Effect.forEach(ids, whenReady, { concurrency: "unbounded" })

        for (const [i, view] of views.entries()) {
          const [file, type, output] = cases[i]!
          expect(view.image.originalBytes).toBe(fixture(file).byteLength)
          expect(view.image.originalContentType).toBe(type)
          expect(view.renditions.map((r) => r.size).sort()).toEqual(["large", "medium", "small"])
          for (const rendition of view.renditions) {
            expect(rendition.status).toBe("ready")
            expect(rendition.contentType).toBe(output)
            expect(Math.max(rendition.width ?? 0, rendition.height ?? 0)).toBeLessThanOrEqual(BOXES[rendition.size])
            const head = yield* Effect.promise(() =>
              admin.s3.send(
                new HeadObjectCommand({ Bucket: emulator.buckets.processed, Key: `${view.image.id}/${rendition.size}` })
              )
            )
            expect([head.ContentType, head.ContentLength]).toEqual([output, rendition.bytes])
          }
        }
        // fauxqs does not keep Cache-Control, so check what was sent: every rendition carries it.
        const puts = requests.sent.filter((r) => r.command === "S3Client.PutObjectCommand")
        expect(puts.length).toBeGreaterThanOrEqual(cases.length * 3)
        for (const put of puts) expect(put.input["CacheControl"]).toBe(RENDITION_CACHE_CONTROL)
        // EXIF orientation 6 rotates a landscape sensor image to portrait.
        const rotated = views[5]!.renditions.find((r) => r.size === "small")!
        expect(rotated.height!).toBeGreaterThan(rotated.width!)
        // The ingest queue held S3's test event and one notification per upload: all consumed
        // (the test event acknowledged, not cycled into the dead-letter queue).
        expect(yield* queueDepth(emulator.ingestQueue.url)).toBe(0)
        expect(yield* queueDepth(emulator.ingestDeadLetterQueue.url)).toBe(0)
      }))

    it.effect("S3 refuses a presigned PUT with another content type or length (checked by the emulator); the right one starts processing", () =>
      Effect.gen(function* () {
        const bytes = fixture("photo-1280x1024-grass-progressive.jpg")
        const ticket = yield* requestUpload("image/jpeg", bytes.byteLength)
        const put = (headers: Record<string, string>, body: Uint8Array) =>
          Effect.promise(() =>
            fetch(ticket.url, { method: "PUT", headers, body }).then(async (r) => [r.status, await r.text()] as const)
          )

        const wrongType = yield* put({ "content-type": "image/png" }, bytes)
        expect(wrongType[0]).toBe(403)
        expect(wrongType[1]).toContain("SignatureDoesNotMatch")
        const wrongLength = yield* put(ticket.headers, bytes.subarray(0, bytes.byteLength - 1))
        expect(wrongLength[0]).toBe(403)
        const tampered = new URL(ticket.url)
        tampered.searchParams.set("X-Amz-Expires", "604800")
        expect(
          (yield* Effect.promise(() => fetch(tampered, { method: "PUT", headers: ticket.headers, body: bytes }))).status
        ).toBe(403)
        expect((yield* find(ticket.id)).image.status).toBe("awaiting_upload")

        expect((yield* put(ticket.headers, bytes))[0]).toBe(200)
        yield* whenReady(ticket.id)
      }))

    it.effect("get_image on the S3 layer answers presigned GET URLs that download the right bytes", () =>
      Effect.gen(function* () {
        const { admin, apiUrl, emulator, requests } = yield* Aws
        const id = yield* upload(fixture("photo-246x345.tiff"), "image/tiff")
        yield* whenReady(id)
        requests.clear()
        for (const size of SIZES) {
          const redirect = yield* Effect.promise(() =>
            fetch(`${apiUrl}/get_image?image_id=${id}&image_size=${size}`, { redirect: "manual" })
          )
          expect(redirect.status).toBe(302)
          expect(redirect.headers.get("x-image-size")).toBe(size)
          const location = redirect.headers.get("location") ?? ""
          expect(new URL(location).searchParams.get("X-Amz-Signature")).not.toBeNull()
          const downloaded = yield* Effect.promise(() =>
            fetch(location).then(async (r) => [r.status, new Uint8Array(await r.arrayBuffer())] as const)
          )
          const stored = yield* Effect.promise(() =>
            admin.s3.send(new GetObjectCommand({ Bucket: emulator.buckets.processed, Key: `${id}/${size}` })).then((
              o
            ) => o.Body!.transformToByteArray())
          )
          expect(downloaded[0]).toBe(200)
          expect(downloaded[1]).toEqual(stored)
        }
        const described = yield* Effect.promise(() =>
          fetch(`${apiUrl}/get_image?image_id=${id}&image_size=medium`, { headers: { accept: "application/json" } })
        )
        const body = yield* json(described)
        expect(body).toMatchObject({
          image_id: id,
          requested_size: "medium",
          served_size: "medium",
          content_type: "image/jpeg"
        })
        const forged = new URL(String(body["url"]))
        forged.pathname = `/${emulator.buckets.processed}/${id}/large`
        expect((yield* Effect.promise(() => fetch(forged))).status).toBe(403)
        // Signing URLs costs no AWS request.
        expect(requests.sent).toEqual([])
      }))

    it.effect("a duplicated S3 event changes nothing: same rows, same objects, no new jobs once done", () =>
      Effect.gen(function* () {
        const { requests, startProcessing } = yield* Aws
        const bytes = fixture("photo-1024x772.webp")
        // A duplicate arriving while the first is still being processed…
        const id = yield* upload(bytes, "image/webp")
        const event = yield* notification(id, bytes.byteLength)
        yield* Effect.promise(() => startProcessing(event, context("StartProcessing")))
        yield* whenReady(id)
        yield* waitQueuesDrained
        const before = yield* snapshot(id)
        expect(before.renditions.map((r) => r.status)).toEqual(["ready", "ready", "ready"])
        // The baseline per size, and the default WebP extra (IMGPIPE_FORMATS=webp) where it was worth
        // storing (smaller than the baseline): exactly the objects the renditions record.
        const recorded = before.renditions.flatMap((r) => [r.key, ...r.variants.map((v) => v.key)]).sort()
        expect(before.objects.map(([key]) => key).sort()).toEqual(recorded)
        expect(recorded.length).toBeGreaterThanOrEqual(3)

        // …and once it is done.
        requests.clear()
        const summaries = yield* Effect.forEach(
          [1, 2],
          () => Effect.promise(() => startProcessing(event, context("StartProcessing")))
        )
        expect(summaries).toEqual([
          { started: 0, alreadyHandled: 1, skipped: 0 },
          { started: 0, alreadyHandled: 1, skipped: 0 }
        ])
        expect(requests.sent).toEqual([])
        expect(yield* snapshot(id)).toEqual(before)
      }))

    it.effect("a duplicated SQS message changes nothing: acknowledged without reading or writing S3", () =>
      Effect.gen(function* () {
        const { admin, emulator, requests } = yield* Aws
        const id = yield* upload(fixture("photo-1280x1024-grass-progressive.jpg"), "image/jpeg")
        yield* whenReady(id)
        yield* waitQueuesDrained
        const before = yield* snapshot(id)
        requests.clear()
        for (const size of SIZES) {
          yield* Effect.promise(() =>
            admin.sqs.send(
              new SendMessageCommand({
                QueueUrl: emulator.queues[size].url,
                MessageBody: JSON.stringify({ image_id: id, raw_key: id, size })
              })
            )
          )
        }
        yield* Effect.sleep("200 millis")
        yield* waitQueuesDrained
        expect(requests.sent).toEqual([])
        expect(yield* snapshot(id)).toEqual(before)
      }))

    it.effect("a batch with a bad image, a transient failure and a malformed body reports only the transient failure", () =>
      Effect.gen(function* () {
        const { admin, emulator, processImage } = yield* Aws
        // Bad content under a key that is not an image id: its own notification is skipped.
        const badKey = `bad-${yield* newImageId}`
        const bad = fixture("not-an-image-text.jpg")
        yield* Effect.promise(() =>
          admin.s3.send(
            new PutObjectCommand({ Bucket: emulator.buckets.raw, Key: badKey, Body: bad, ContentType: "image/jpeg" })
          )
        )
        const rejected = yield* requestUpload("image/jpeg", bad.byteLength)
        // Never uploaded: reading its original fails, which is transient (it may yet arrive).
        const missing = yield* requestUpload("image/jpeg", 1234)

        const record = (messageId: string, body: string) => ({
          messageId,
          receiptHandle: `handle-${messageId}`,
          body,
          attributes: {
            ApproximateReceiveCount: "1",
            SentTimestamp: "1545082649183",
            SenderId: "AIDAIENQZJOLO23YVJ4VO",
            ApproximateFirstReceiveTimestamp: "1545082649185"
          },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: emulator.queues.small.arn,
          awsRegion: "us-east-1"
        })
        const result = yield* Effect.promise(() =>
          processImage(
            {
              Records: [
                record("m-bad", JSON.stringify({ image_id: rejected.id, raw_key: badKey, size: "small" })),
                record("m-transient", JSON.stringify({ image_id: missing.id, raw_key: missing.id, size: "small" })),
                record("m-malformed", "{ not json")
              ]
            },
            context("ProcessImage")
          )
        )
        expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m-transient" }] })
        const refused = yield* find(rejected.id)
        expect([refused.image.status, refused.image.errorCode]).toEqual(["failed", "not_an_image"])
        // First delivery of three: nothing recorded yet, the queue will retry.
        const pending = yield* find(missing.id)
        expect([pending.image.status, pending.image.errorCode, pending.renditions]).toEqual([
          "awaiting_upload",
          null,
          []
        ])
      }))

    it.effect("a message failing transiently 3 times ends in the dead-letter queue and the image records processing_failed", () =>
      Effect.gen(function* () {
        const { emulator, startProcessing } = yield* Aws
        // The record exists and S3 "said" the object arrived, but it is not there to read.
        const ticket = yield* requestUpload("image/jpeg", 2048)
        const event = yield* notification(ticket.id, 2048)
        const summary = yield* Effect.promise(() => startProcessing(event, context("StartProcessing")))
        expect(summary).toEqual({ started: 1, alreadyHandled: 0, skipped: 0 })

        const dlq = yield* Effect.promise(() =>
          fetch(`${emulator.endpoint}/_fauxqs/queues/${emulator.deadLetterQueue.name}`).then((r) =>
            r.json() as Promise<{ messages: { ready: Array<{ body: string }> } }>
          )
        ).pipe(
          Effect.map((state) =>
            state.messages.ready.map((m) => JSON.parse(m.body) as { image_id: string; size: string })
          ),
          Effect.map((jobs) => jobs.filter((job) => job.image_id === ticket.id)),
          Effect.filterOrFail((jobs) => jobs.length === 3, () => "not yet dead-lettered"),
          Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo(Duration.seconds(40)))),
          Effect.orDie
        )
        expect(dlq.map((job) => job.size).sort()).toEqual(["large", "medium", "small"])

        const view = yield* find(ticket.id)
        expect([view.image.status, view.image.errorCode]).toEqual(["failed", "processing_failed"])
        expect(view.renditions.map((r) => [r.size, r.status, r.errorCode]).sort()).toEqual([
          ["large", "failed", "processing_failed"],
          ["medium", "failed", "processing_failed"],
          ["small", "failed", "processing_failed"]
        ])
        expect(view.image.errorMessage).toContain("after 3 attempts")
      }))

    it.effect("StartProcessing takes several records, decodes keys, skips keys that are not image ids", () =>
      Effect.gen(function* () {
        const { startProcessing } = yield* Aws
        const id = yield* upload(fixture("photo-246x345.tiff"), "image/tiff")
        yield* whenReady(id)
        const event = yield* notification(id.toUpperCase(), 254856)
        const unknownKey = yield* notification("holiday photo (1).jpg", 10)
        const unknownId = yield* notification(yield* newImageId, 10)
        const records = [...unknownKey.Records, ...event.Records, ...unknownId.Records]
        expect(records[0]!.s3.object.key).toBe("holiday+photo+%281%29.jpg")
        const summary = yield* Effect.promise(() => startProcessing({ Records: records }, context("StartProcessing")))
        expect(summary).toEqual({ started: 0, alreadyHandled: 1, skipped: 2 })
        expect((yield* find(id)).image.status).toBe("ready")
        // S3's s3:TestEvent (sent when the notification is configured) has no records.
        const test: unknown = {
          Service: "Amazon S3",
          Event: "s3:TestEvent",
          Time: "2026-01-01T00:00:00.000Z",
          Bucket: "raw-image-test"
        }
        expect(yield* Effect.promise(() => startProcessing(test as S3Event, context("StartProcessing")))).toEqual({
          started: 0,
          alreadyHandled: 0,
          skipped: 0
        })
      }))
  }
)
