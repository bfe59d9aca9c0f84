/**
 * Defect 7 of issue 9 on the AWS path: the presigned PUT is a conditional write (If-None-Match: *),
 * and the emulator refuses it once the object exists, as S3 does (fauxqs alone ignores the header).
 * Against the emulator of `start:aws-local`, with imgpipe's own S3 layer presigning.
 */
import { describe, expect, it } from "@effect/vitest"
import { S3StorageLive } from "@imgpipe/core/aws/S3Storage"
import { ObjectStorage } from "@imgpipe/core/services/ObjectStorage"
import { Chunk, ConfigProvider, Effect, Layer, Queue } from "effect"
import { makeAwsEmulator, stageNames } from "../src/local/emulator.js"

const KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" } as const

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 7) % 256)

const setup = Effect.gen(function* () {
  const emulator = yield* makeAwsEmulator({
    port: 0,
    region: "us-east-1",
    keys: KEYS,
    ...stageNames("cond"),
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3
  })
  const storage = yield* ObjectStorage.pipe(
    Effect.provide(
      S3StorageLive.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(emulator.env)))))
      )
    )
  )
  const ticket = (key: string, length: number) =>
    storage.presignUpload({ key, contentType: "image/jpeg", contentLength: length, expiresInSeconds: 300 })
  const send = (url: string, headers: Record<string, string>, body: Uint8Array) =>
    Effect.promise(async () => {
      const response = await fetch(url, { method: "PUT", headers, body })
      return { status: response.status, text: await response.text() }
    })
  const stored = (key: string) =>
    Effect.promise(async () => {
      const response = await fetch(
        (await Effect.runPromise(storage.presignDownload({ bucket: "raw", key, expiresInSeconds: 60 }))).url
      )
      return new Uint8Array(await response.arrayBuffer())
    })
  return { emulator, ticket, send, stored }
})

describe("aws-local emulator: one upload per presigned URL", () => {
  it.scoped("a second PUT to the URL is refused with 412 PreconditionFailed and the first object stays", () =>
    Effect.gen(function* () {
      const { send, stored, ticket } = yield* setup
      const key = "0190a0b0-0000-7000-8000-0000000c0001"
      const upload = yield* ticket(key, 100)
      expect(upload.headers).toEqual({ "content-type": "image/jpeg", "if-none-match": "*" })
      expect((yield* send(upload.url, upload.headers, bytes(100, 1))).status).toBe(200)
      const again = yield* send(upload.url, upload.headers, bytes(100, 2))
      expect(again.status).toBe(412)
      expect(again.text).toContain("<Code>PreconditionFailed</Code>")
      // Dropping the header does not help: it is signed.
      const without = yield* send(upload.url, { "content-type": "image/jpeg" }, bytes(100, 2))
      expect(without.status).toBe(403)
      expect(without.text).toContain("SignatureDoesNotMatch")
      expect(yield* stored(key)).toEqual(bytes(100, 1))
    }))

  it.scoped("of PUTs racing on one URL exactly one is stored; only it is reported as created", () =>
    Effect.gen(function* () {
      const { emulator, send, stored, ticket } = yield* setup
      const key = "0190a0b0-0000-7000-8000-0000000c0002"
      const upload = yield* ticket(key, 4096)
      const bodies = [1, 2, 3, 4].map((seed) => bytes(4096, seed))
      const results = yield* Effect.all(bodies.map((body) => send(upload.url, upload.headers, body)), {
        concurrency: "unbounded"
      })
      expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412, 412])
      const winner = results.findIndex((r) => r.status === 200)
      expect(yield* stored(key)).toEqual(bodies[winner])
      const created = Chunk.toReadonlyArray(yield* Queue.takeAll(emulator.objectCreated))
      expect(created.map((c) => c.key)).toEqual([key])
    }))
})
