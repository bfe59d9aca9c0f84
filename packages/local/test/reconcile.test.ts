/**
 * The embedded runner's reconciler: `bun run start` (a real child process) expires an upload that
 * never arrives, with short settings; and in-process, an image left `processing` with its jobs lost
 * is re-sent by the reconciler and processed by the workers to `ready`.
 */
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { ImageRepository, newImageId, ObjectStorage, rawKey } from "@imgpipe/core"
import { ConfigProvider, Effect, Layer } from "effect"
import { ReconcilerLive } from "../src/reconcile.js"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, getImage, getStatus, requestUpload, waitUntilSettled } from "./support/client.js"
import { makeTestDatabase, type Runner, startRunner } from "./support/runner.js"

const cleanups: Array<() => Promise<unknown> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const poll = async <A>(read: () => Promise<A>, done: (a: A) => boolean, ms: number): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() > deadline) return value
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe("bun run start: reconciliation", () => {
  it("an upload that never arrives ends expired; get_image answers 404", { timeout: 120_000 }, async () => {
    const database = await makeTestDatabase()
    if (database) cleanups.push(database.drop)
    const runner: Runner = await startRunner({
      ...(database ? { databaseUrl: database.url } : {}),
      env: {
        IMGPIPE_UPLOAD_URL_TTL_SECONDS: "1",
        IMGPIPE_EXPIRE_GRACE_SECONDS: "0",
        IMGPIPE_RECONCILE_EVERY_SECONDS: "1"
      }
    })
    cleanups.push(() => runner.stop("SIGTERM"))

    const res = await requestUpload(runner.baseUrl, { content_type: "image/png", content_length: 1000 })
    expect(res.status).toBe(201)
    const { image_id } = (await res.json()) as { image_id: string }
    expect((await getStatus(runner.baseUrl, image_id)).status).toBe("awaiting_upload")

    const status = await poll(() => getStatus(runner.baseUrl, image_id), (s) => s.status !== "awaiting_upload", 20_000)
    expect(status.status, runner.output()).toBe("expired")
    const answer = await getImage(runner.baseUrl, image_id, "small")
    expect(answer.status).toBe(404)
    expect(((await answer.json()) as { message: string }).message).toMatch(/never arrived/)
    expect(runner.output()).toMatch(/reconcile: done\n( {2}\w+: \d+\n)* {2}expired: 1\n/)
  })
})

const env = { IMGPIPE_STALL_SECONDS: "1", IMGPIPE_RECONCILE_EVERY_SECONDS: "1" }
const App = ReconcilerLive.pipe(
  Layer.provideMerge(makeTestApp({ workers: true, env })),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
)

layer(App, { excludeTestServices: true, timeout: 120_000 })("embedded reconciler", (it) => {
  it.effect("an image processing with its jobs lost is re-sent and ends ready", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const repo = yield* ImageRepository
      const storage = yield* ObjectStorage
      const bytes = fixture("photo-1280x1024-grass-progressive.jpg")
      const id = yield* newImageId
      yield* repo.create({
        id,
        declaredContentType: "image/jpeg",
        declaredBytes: bytes.byteLength,
        uploadExpiresAt: new Date(Date.now() + 900_000)
      })
      yield* storage.put({
        bucket: "raw",
        key: rawKey(id),
        body: bytes,
        contentType: "image/jpeg",
        cacheControl: "private"
      })
      // Started, but no job was ever sent (lost): only the reconciler can move it on.
      yield* repo.markUploaded([{ id, bytes: bytes.byteLength }])
      expect((yield* Effect.promise(() => getStatus(baseUrl, id))).status).toBe("processing")

      const status = yield* Effect.promise(() => waitUntilSettled(baseUrl, id, 60_000))
      expect(status.status, JSON.stringify(status.error)).toBe("ready")
      for (const size of ["small", "medium", "large"] as const) expect(status.renditions[size].status).toBe("ready")
    }))
})
