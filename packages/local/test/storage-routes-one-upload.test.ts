/**
 * Defect 7 of issue 9: an upload URL could overwrite the stored original for its whole lifetime
 * (rejected originals kept for inspection included). A URL is now good for one upload: once the
 * object exists a PUT is refused with 412 `object_exists`, two PUTs racing cannot both win, and an
 * attempt that failed leaves nothing behind, so the client can retry with the same URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import {
  bytesOf,
  expectRefusal,
  harness,
  JPEG,
  KEY,
  md5,
  pathAndQuery,
  presignUpload,
  put,
  rawHttp,
  realSleep
} from "./support/storage.js"

const ROUNDS = 5

describe("DiskStorage: one upload per URL", () => {
  it.scoped("the upload headers ask for If-None-Match: * as S3's do", () =>
    Effect.gen(function* () {
      const h = yield* harness()
      const upload = yield* presignUpload(h)
      expect(upload.headers).toEqual({ "content-type": JPEG, "if-none-match": "*" })
    }))

  it.scoped("a second PUT to the same URL is refused with 412 object_exists and the first upload stays", () =>
    Effect.gen(function* () {
      const h = yield* harness()
      const first = bytesOf(1000, 1)
      const upload = yield* presignUpload(h)
      expect((yield* put(upload.url, first, upload.headers)).response.status).toBe(200)
      const second = yield* put(upload.url, bytesOf(1000, 2), upload.headers)
      expectRefusal(second, 412, "object_exists")
      // Without the header too: the storage refuses, the header only keeps one client code path.
      expectRefusal(yield* put(upload.url, bytesOf(1000, 2), { "content-type": JPEG }), 412, "object_exists")
      expect(h.calls).toHaveLength(1)
      expect(yield* h.storage.get({ bucket: "raw", key: KEY, maxBytes: 1000 })).toEqual(first)
      expect(yield* h.rawFiles()).toEqual([KEY, `${KEY}.meta.json`])
    }))

  it.scoped("of two PUTs racing on one URL exactly one is stored, whole", () =>
    Effect.gen(function* () {
      const h = yield* harness()
      const length = 2 * 1024 * 1024
      const upload = yield* presignUpload(h, { length })
      for (let round = 0; round < ROUNDS; round++) {
        if (round > 0) yield* h.storage.delete("raw", KEY)
        const bodies = [bytesOf(length, 10 + round * 2), bytesOf(length, 11 + round * 2)]
        const results = yield* Effect.all(bodies.map((body) => put(upload.url, body, upload.headers)), {
          concurrency: "unbounded"
        })
        const statuses = results.map((r) => r.response.status).sort()
        expect(statuses).toEqual([200, 412])
        const winner = results.findIndex((r) => r.response.status === 200)
        const stored = yield* Effect.promise(() => readFile(NodePath.join(h.dataDir, "objects", "raw", KEY)))
        // Compared by digest: a deep equality of two 2 MiB arrays takes minutes.
        expect(md5(new Uint8Array(stored))).toBe(md5(bodies[winner] ?? new Uint8Array()))
        expect(yield* h.rawFiles()).toEqual([KEY, `${KEY}.meta.json`])
      }
      expect(h.calls).toHaveLength(ROUNDS)
    }))

  it.scoped("an attempt cut short leaves nothing, and the same URL then uploads", () =>
    Effect.gen(function* () {
      const h = yield* harness()
      const upload = yield* presignUpload(h, { length: 1000 })
      const cut = yield* rawHttp(
        h.port,
        `PUT ${
          pathAndQuery(upload.url)
        } HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n`,
        bytesOf(600),
        { pauseBeforeEndMs: 200 }
      )
      expect(cut.status).toBe(400)
      for (let i = 0; i < 40 && (yield* h.rawFiles()).length > 0; i++) yield* realSleep(50)
      expect(yield* h.rawFiles()).toEqual([])
      const retry = yield* put(upload.url, bytesOf(1000), upload.headers)
      expect(retry.response.status).toBe(200)
      expect(h.calls).toHaveLength(1)
    }))
})
