/**
 * `ObjectStorage` on S3, against fauxqs in this process: the presigned URLs (what they sign and
 * what they must not carry), a real PUT and GET with `fetch`, the size-limited streaming read
 * (declared length and counted stream), typed errors, and the requests each call sends.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option } from "effect"
import { Readable } from "node:stream"
import { readAtMost } from "../src/aws/readAtMost.js"
import { S3ClientInstance, S3StorageLive } from "../src/aws/S3Storage.js"
import { ObjectStorage } from "../src/services/ObjectStorage.js"
import { type Fauxqs, logRequests, type RequestLog, startFauxqs } from "./support/fauxqs.js"

const RAW = "raw-image-s3test"
const PROCESSED = "processed-image-s3test"

class Emulator extends Context.Tag("test/Emulator")<Emulator, Fauxqs>() {}
class Requests extends Context.Tag("test/Requests")<Requests, RequestLog>() {}

const EmulatorLive = Layer.scoped(Emulator, startFauxqs({ buckets: [RAW, PROCESSED], queues: [] }))

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

const RequestsLive = Layer.effect(
  Requests,
  Effect.map(S3ClientInstance.S3ClientInstance, (client) => logRequests([client]))
)

const TestLayer = RequestsLive.pipe(Layer.provideMerge(StorageLive), Layer.provideMerge(EmulatorLive))

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 7) % 256)

const putRaw = (key: string, body: Uint8Array, contentType = "image/jpeg") =>
  Effect.flatMap(ObjectStorage, (storage) =>
    Effect.gen(function* () {
      const upload = yield* storage.presignUpload({
        key,
        contentType,
        contentLength: body.byteLength,
        expiresInSeconds: 60
      })
      const response = yield* Effect.promise(() => fetch(upload.url, { method: "PUT", headers: upload.headers, body }))
      return response.status
    }))

layer(TestLayer, { excludeTestServices: true })("S3 ObjectStorage (fauxqs)", (it) => {
  it.effect("the presigned PUT signs content-type and content-length and carries no checksum", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const requests = yield* Requests
      requests.clear()
      const upload = yield* storage.presignUpload({
        key: "0190a0b0-0000-7000-8000-00000000a001",
        contentType: "image/png",
        contentLength: 1234,
        expiresInSeconds: 900
      })
      const url = new URL(upload.url)
      expect(upload.method).toBe("PUT")
      expect(url.pathname).toBe(`/${RAW}/0190a0b0-0000-7000-8000-00000000a001`) // path-style on an endpoint
      const signed = (url.searchParams.get("X-Amz-SignedHeaders") ?? "").split(";")
      const names = [...url.searchParams.keys()].map((name) => name.toLowerCase())
      // If-None-Match: * makes S3 refuse a second PUT (conditional write): signed, so a client
      // cannot drop it, and kept a header (S3 reads conditions from headers, not the query).
      expect(signed).toEqual(expect.arrayContaining(["content-length", "content-type", "host", "if-none-match"]))
      expect(names).not.toContain("if-none-match")
      expect(url.searchParams.get("X-Amz-Expires")).toBe("900")
      expect(names.filter((name) => name.startsWith("x-amz-checksum") || name === "x-amz-sdk-checksum-algorithm"))
        .toEqual([])
      expect(signed.filter((name) => name.includes("checksum"))).toEqual([])
      expect(upload.headers).toEqual({ "content-type": "image/png", "if-none-match": "*" })
      expect(upload.expiresAt.getTime() - Date.now()).toBeGreaterThan(890_000)
      // Presigning is local computation: no request to S3.
      expect(requests.sent).toEqual([])
    }))

  it.effect("a real fetch PUT to the presigned URL stores the declared type and bytes; GET returns them", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const key = "0190a0b0-0000-7000-8000-00000000a002"
      const body = bytes(5000, 3)
      expect(yield* putRaw(key, body)).toBe(200)
      const info = yield* storage.head("raw", key)
      expect(Option.map(info, (i) => [i.bytes, Option.getOrNull(i.contentType)])).toEqual(
        Option.some([5000, "image/jpeg"])
      )
      expect(yield* storage.get({ bucket: "raw", key, maxBytes: 5000 })).toEqual(body)
    }))

  it.effect("fauxqs on its own does not check signatures: another type or length is stored (the AWS emulator adds the check)", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const key = "0190a0b0-0000-7000-8000-00000000a003"
      const upload = yield* storage.presignUpload({
        key,
        contentType: "image/jpeg",
        contentLength: 10,
        expiresInSeconds: 60
      })
      const response = yield* Effect.promise(() =>
        fetch(upload.url, { method: "PUT", headers: { "content-type": "text/plain" }, body: bytes(11) })
      )
      expect(response.status).toBe(200)
    }))

  it.effect("fauxqs on its own ignores If-None-Match on PUT: a second upload overwrites (the AWS emulator refuses it, as S3 does)", () =>
    Effect.gen(function* () {
      const key = "0190a0b0-0000-7000-8000-00000000a007"
      expect(yield* putRaw(key, bytes(10, 1))).toBe(200)
      expect(yield* putRaw(key, bytes(10, 2))).toBe(200)
    }))

  it.effect("get refuses an object over the limit from its declared length, before reading it", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const key = "0190a0b0-0000-7000-8000-00000000a004"
      yield* putRaw(key, bytes(100))
      const declared = yield* Effect.either(storage.get({ bucket: "raw", key, maxBytes: 99 }))
      expect(Either.getLeft(declared)).toEqual(
        Option.some(expect.objectContaining({ _tag: "ObjectTooLarge", limit: 99 }))
      )
      expect(yield* storage.get({ bucket: "raw", key, maxBytes: 100 })).toEqual(bytes(100))
    }))

  it.effect("without a declared length, the read is counted and stops at the first byte over the limit", () =>
    Effect.gen(function* () {
      // A body as the SDK gives it on Node (a Readable); S3 itself always declares the length.
      const body = () => {
        const stream = Readable.from([bytes(40), bytes(40, 3), bytes(40, 5)])
        return { stream, destroyed: () => stream.destroyed }
      }
      const over = body()
      expect(yield* Effect.promise(() => readAtMost(over.stream, 100))).toEqual({ _tag: "TooLarge" })
      expect(over.destroyed()).toBe(true)
      const within = body()
      const read = yield* Effect.promise(() => readAtMost(within.stream, 120))
      expect(read._tag === "Bytes" ? read.bytes : undefined).toEqual(
        Uint8Array.from([...bytes(40), ...bytes(40, 3), ...bytes(40, 5)])
      )
    }))

  it.effect("a missing key is ObjectNotFound (get) or none (head); a missing bucket is a StorageError", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const missing = yield* Effect.either(storage.get({ bucket: "processed", key: "no-such/small", maxBytes: 10 }))
      expect(Either.getLeft(missing)).toEqual(
        Option.some(expect.objectContaining({ _tag: "ObjectNotFound", bucket: PROCESSED, key: "no-such/small" }))
      )
      expect(yield* storage.head("processed", "no-such/small")).toEqual(Option.none())

      const emulator = yield* Emulator
      const noBucket = yield* ObjectStorage.pipe(
        Effect.provide(
          S3StorageLive.pipe(
            Layer.provide(Layer.setConfigProvider(
              emulator.configProvider({ IMGPIPE_RAW_BUCKET: "no-such-bucket", IMGPIPE_PROCESSED_BUCKET: PROCESSED })
            ))
          )
        ),
        Effect.flatMap((other) => Effect.either(other.get({ bucket: "raw", key: "x", maxBytes: 10 })))
      )
      expect(Either.getLeft(noBucket).pipe(Option.map((e) => e._tag))).toEqual(Option.some("StorageError"))
    }))

  it.effect("put writes Content-Type and Cache-Control in one PutObject; delete is idempotent", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const requests = yield* Requests
      const emulator = yield* Emulator
      const key = "0190a0b0-0000-7000-8000-00000000a006/small"
      requests.clear()
      yield* storage.put({
        bucket: "processed",
        key,
        body: bytes(64),
        contentType: "image/webp",
        cacheControl: "public, max-age=31536000, immutable"
      })
      expect(requests.sent).toEqual([
        {
          command: "S3Client.PutObjectCommand",
          input: expect.objectContaining({
            Bucket: PROCESSED,
            Key: key,
            ContentType: "image/webp",
            CacheControl: "public, max-age=31536000, immutable",
            ContentLength: 64
          })
        }
      ])
      const download = yield* storage.presignDownload({ bucket: "processed", key, expiresInSeconds: 120 })
      const response = yield* Effect.promise(() => fetch(download.url))
      expect(response.headers.get("content-type")).toBe("image/webp")
      expect(new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))).toEqual(bytes(64))

      yield* storage.delete("processed", key)
      yield* storage.delete("processed", key)
      const listed = yield* Effect.promise(() =>
        emulator.s3.send(
          new ListObjectsV2Command({ Bucket: PROCESSED, Prefix: "0190a0b0-0000-7000-8000-00000000a006" })
        )
      )
      expect(listed.KeyCount ?? 0).toBe(0)
    }))

  it.effect("copy is one CopyObject inside the bucket that keeps the metadata; a missing source is ObjectNotFound", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const requests = yield* Requests
      const from = "0190a0b0-0000-7000-8000-00000000a007/small.webp"
      const to = "0190a0b0-0000-7000-8000-00000000a008/small.webp"
      yield* storage.put({
        bucket: "processed",
        key: from,
        body: bytes(80, 3),
        contentType: "image/webp",
        cacheControl: "public, max-age=31536000, immutable"
      })
      requests.clear()
      yield* storage.copy({ bucket: "processed", fromKey: from, toKey: to })
      // No MetadataDirective: S3's default COPY keeps Content-Type and Cache-Control.
      expect(requests.sent).toEqual([
        {
          command: "S3Client.CopyObjectCommand",
          input: { Bucket: PROCESSED, Key: to, CopySource: `${PROCESSED}/${from}` }
        }
      ])
      const download = yield* storage.presignDownload({ bucket: "processed", key: to, expiresInSeconds: 120 })
      const response = yield* Effect.promise(() => fetch(download.url))
      expect(response.headers.get("content-type")).toBe("image/webp")
      expect(new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))).toEqual(bytes(80, 3))

      const missing = yield* Effect.flip(
        storage.copy({ bucket: "processed", fromKey: "0190a0b0-0000-7000-8000-00000000a009/small", toKey: to })
      )
      expect(missing).toMatchObject({
        _tag: "ObjectNotFound",
        bucket: PROCESSED,
        key: "0190a0b0-0000-7000-8000-00000000a009/small"
      })
    }))

  it.effect("presigned lifetimes outside 1 s – 7 days are refused", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      const tooLong = yield* Effect.either(
        storage.presignDownload({ bucket: "raw", key: "k", expiresInSeconds: 8 * 24 * 3600 })
      )
      expect(Either.getLeft(tooLong).pipe(Option.map((e) => e._tag))).toEqual(Option.some("StorageError"))
      const zero = yield* Effect.either(
        storage.presignUpload({ key: "k", contentType: "image/jpeg", contentLength: 1, expiresInSeconds: 0 })
      )
      expect(Either.isLeft(zero)).toBe(true)
    }))
})
