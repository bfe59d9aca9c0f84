/**
 * Every AWS request each step makes per image, counted by an SDK middleware on the clients of the
 * functions, the API, S3's notifications and the event source mappings (the S3 and SQS requests
 * AWS bills). The steps
 * are driven one at a time so each count belongs to one step. `docs/aws-requests.md` is this
 * test's table.
 *
 * Every upload has bytes of its own (the fixture plus a unique tail, which TIFF readers ignore),
 * so none is taken for a duplicate of an earlier one, except where a test uploads the same bytes
 * again on purpose.
 */
import { expect, layer } from "@effect/vitest"
import type { ImageId, ImageSize } from "@imgpipe/core"
import { parseImageId } from "@imgpipe/core"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import { Effect, Option, Queue } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { notifyIngestQueue, pollIngestOnce, pollOnce } from "../src/local/event-sources.js"
import { Aws, AwsLive } from "./support/aws.js"

const fixture = readFileSync(resolve(import.meta.dirname, "../../core/test/fixtures/images/photo-246x345.tiff"))
let uploads = 0
/** The fixture's picture in bytes no other upload has. */
const uniqueImage = (): Uint8Array =>
  new Uint8Array(Buffer.concat([fixture, Buffer.from(`imgpipe-test-${process.pid}-${++uploads}-${Date.now()}`)]))
const SIZES: ReadonlyArray<ImageSize> = ["small", "medium", "large"]
/** The extra formats of the main harness, each one more object per size (`<id>/<size>.<format>`). */
const FORMATS = ["webp", "avif"] as const
const mapping = { batchSize: 10, waitTimeSeconds: 0, timeoutMs: 30_000 }

/** The client's part: POST /upload, then PUT to the presigned URL. Returns the API's requests for the ticket. */
const clientUpload = (image: Uint8Array = uniqueImage()) =>
  Effect.gen(function* () {
    const { apiUrl, requests } = yield* Aws
    requests.clear()
    const ticket = yield* Effect.promise(() =>
      fetch(`${apiUrl}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: "image/tiff", content_length: image.byteLength })
      }).then((r) =>
        r.json() as Promise<{ image_id: string; upload: { url: string; headers: Record<string, string> } }>
      )
    )
    const uploadRequests = requests.counts()
    const put = yield* Effect.promise(() =>
      fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: image })
    )
    expect(put.status).toBe(200)
    return { id: Option.getOrThrow(parseImageId(ticket.image_id)), uploadRequests, image }
  })

/**
 * S3's notification for the next stored object, posted to the ingest queue (S3 sends it, the queue
 * owner pays the SendMessage); the requests of that delivery.
 */
const notify = Effect.gen(function* () {
  const { emulator, mappingRequests } = yield* Aws
  // The emulator reports writes to both buckets; S3 notifies the ingest queue of the raw bucket's.
  let created = yield* Queue.take(emulator.objectCreated)
  while (created.bucket !== emulator.buckets.raw) created = yield* Queue.take(emulator.objectCreated)
  expect(created.eventName).toBe("ObjectCreated:Put")
  mappingRequests.clear()
  yield* Effect.orDie(notifyIngestQueue(emulator, created))
  return mappingRequests.counts()
})

/** One poll of the ingest queue by StartProcessing's event source mapping, and the requests of that step. */
const pollIngest = Effect.gen(function* () {
  const { emulator, mappingRequests, requests, startProcessingSqs } = yield* Aws
  requests.clear()
  mappingRequests.clear()
  const outcome = yield* pollIngestOnce(emulator, startProcessingSqs, mapping).pipe(Effect.orDie)
  return { outcome, functionRequests: requests.counts(), mappingRequests: mappingRequests.counts() }
})

/** One poll of a size queue by the event source mapping, and the requests of that step. */
const pollSize = (size: ImageSize) =>
  Effect.gen(function* () {
    const { emulator, mappingRequests, processImage, requests } = yield* Aws
    requests.clear()
    mappingRequests.clear()
    const outcome = yield* pollOnce(emulator, size, processImage, mapping).pipe(Effect.orDie)
    return { outcome, functionRequests: requests.counts(), mappingRequests: mappingRequests.counts() }
  })

const getImages = (id: ImageId) =>
  Effect.gen(function* () {
    const { apiUrl, requests } = yield* Aws
    requests.clear()
    for (const size of SIZES) {
      const response = yield* Effect.promise(() =>
        fetch(`${apiUrl}/get_image?image_id=${id}&image_size=${size}`, { redirect: "manual" })
      )
      expect(response.status).toBe(302)
    }
    const status = yield* Effect.promise(() => fetch(`${apiUrl}/images/${id}`))
    expect(status.status).toBe(200)
    return requests.counts()
  })

/**
 * One image through every step. `extras`: the extra formats the harness makes; `copies`: the bytes
 * were uploaded before and that image is ready, so each size is copied from it (one CopyObject per
 * object) instead of resized and written.
 */
const perImage = (options: {
  readonly keepOriginals: boolean
  readonly extras: number
  readonly sameBytesAs?: Uint8Array
}) =>
  Effect.gen(function* () {
    const { keepOriginals } = options
    const { repository } = yield* Aws
    const { id, image, uploadRequests } = yield* clientUpload(options.sameBytesAs)
    expect(uploadRequests).toEqual({}) // POST /upload: one INSERT, the URL is signed locally
    expect(yield* notify).toEqual({ "SQSClient.SendMessageCommand": 1 })
    const start = yield* pollIngest
    expect(start.outcome).toEqual({ received: 1, deleted: 1, retried: 0 })
    expect(start.mappingRequests).toEqual({
      "SQSClient.ReceiveMessageCommand": 1,
      "SQSClient.DeleteMessageBatchCommand": 1
    })
    expect(start.functionRequests).toEqual({ "SQSClient.SendMessageBatchCommand": 3 })

    for (const [i, size] of SIZES.entries()) {
      const step = yield* pollSize(size)
      expect(step.outcome).toEqual({ size, received: 1, deleted: 1, retried: 0 })
      expect(step.mappingRequests).toEqual({
        "SQSClient.ReceiveMessageCommand": 1,
        "SQSClient.DeleteMessageBatchCommand": 1
      })
      const last = i === SIZES.length - 1
      // The original is read (and hashed) either way; the baseline and each extra are written, or copied.
      const objects = 1 + options.extras
      expect(step.functionRequests, size).toEqual({
        "S3Client.GetObjectCommand": 1,
        ...(options.sameBytesAs === undefined
          ? { "S3Client.PutObjectCommand": objects }
          : { "S3Client.CopyObjectCommand": objects }),
        ...(last && !keepOriginals ? { "S3Client.DeleteObjectCommand": 1 } : {})
      })
    }
    const view = Option.getOrThrow(yield* Effect.orDie(repository.find(id)))
    expect([view.image.status, view.image.originalStored]).toEqual(["ready", keepOriginals])
    expect(yield* getImages(id)).toEqual({}) // get_image and status: database reads, URLs unsigned or signed locally
    return { id, image }
  })

layer(AwsLive({ eventSources: false, env: { IMGPIPE_FORMATS: FORMATS.join(",") } }), {
  excludeTestServices: true,
  timeout: "60 seconds"
})(
  `AWS requests per image, IMGPIPE_FORMATS=webp,avif (fauxqs + ${testDatabaseKind})`,
  (it) => {
    it.effect("one image, originals kept: 0 for the ticket, S3's send to the ingest queue, its receive + delete, 3 SQS sends, per size 1 GET + 3 PUTs (baseline, WebP, AVIF) and the mapping's receive + delete", () =>
      perImage({ keepOriginals: true, extras: FORMATS.length }))

    it.effect("the same bytes again, once the first is ready: per size 1 GET (the original, hashed) + 3 CopyObject, no PUT", () =>
      Effect.gen(function* () {
        const first = yield* perImage({ keepOriginals: true, extras: FORMATS.length })
        const second = yield* perImage({ keepOriginals: true, extras: FORMATS.length, sameBytesAs: first.image })
        const { repository } = yield* Aws
        const view = Option.getOrThrow(yield* Effect.orDie(repository.find(second.id)))
        expect(view.image.duplicateOf).toBe(first.id)
      }))

    it.effect("ten images: one StartProcessing batch sends 3 SendMessageBatch of 10; the mappings' receive and delete are shared", () =>
      Effect.gen(function* () {
        const uploads = yield* Effect.forEach(Array.from({ length: 10 }), () => clientUpload())
        for (const _ of uploads) {
          expect(yield* notify).toEqual({ "SQSClient.SendMessageCommand": 1 })
        }
        const start = yield* pollIngest
        expect(start.outcome).toEqual({ received: 10, deleted: 10, retried: 0 })
        expect(start.mappingRequests).toEqual({
          "SQSClient.ReceiveMessageCommand": 1,
          "SQSClient.DeleteMessageBatchCommand": 1
        })
        expect(start.functionRequests).toEqual({ "SQSClient.SendMessageBatchCommand": 3 })
        for (const size of SIZES) {
          const step = yield* pollSize(size)
          expect(step.outcome).toEqual({ size, received: 10, deleted: 10, retried: 0 })
          expect(step.mappingRequests).toEqual({
            "SQSClient.ReceiveMessageCommand": 1,
            "SQSClient.DeleteMessageBatchCommand": 1
          })
          expect(step.functionRequests).toEqual({
            "S3Client.GetObjectCommand": 10,
            "S3Client.PutObjectCommand": 10 * (1 + FORMATS.length)
          })
        }
      }))
  }
)

layer(AwsLive({ eventSources: false, env: { IMGPIPE_KEEP_ORIGINALS: "false" } }), {
  excludeTestServices: true,
  timeout: "60 seconds"
})(
  `AWS requests per image, originals removed (fauxqs + ${testDatabaseKind})`,
  (it) => {
    // The default IMGPIPE_FORMATS: WebP beside the baseline.
    it.effect("one DeleteObject more, with the last size", () => perImage({ keepOriginals: false, extras: 1 }))
  }
)
