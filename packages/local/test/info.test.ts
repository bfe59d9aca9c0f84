/**
 * `GET /local/info`, over HTTP: the limits the upload page shows are the configured ones, and the
 * backlog counts the jobs not yet done per size queue and the dead-lettered ones. The in-process
 * app runs no workers, so the queue holds exactly what the test put there; the last test starts
 * the real runner process (`bun run start`'s entry) with limits in its environment (on a fresh
 * database of TEST_DATABASE_URL's server when set, like the other runner tests).
 */
import { expect, it as plain, layer } from "@effect/vitest"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect } from "effect"
import type { LocalInfo } from "../src/info.js"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, uploadAndStart } from "./support/client.js"
import { makeTestDatabase, removeDir, startRunner } from "./support/runner.js"

const fetchInfo = (baseUrl: string) =>
  Effect.promise(async () => {
    const res = await fetch(`${baseUrl}/local/info`)
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      cache: res.headers.get("cache-control"),
      body: (await res.json()) as LocalInfo
    }
  })

const env = { IMGPIPE_MAX_UPLOAD_BYTES: "5000000", IMGPIPE_MAX_PIXELS: "12000000", IMGPIPE_SIZE_MEDIUM: "800" }

layer(makeTestApp({ env }), { excludeTestServices: true, timeout: 120_000 })("GET /local/info", (it) => {
  it.effect("limits, sizes and auth as configured; an empty backlog", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const info = yield* fetchInfo(baseUrl)
      expect(info.status).toBe(200)
      expect(info.type).toMatch(/^application\/json/)
      expect(info.cache).toBe("no-store")
      expect(info.body.limits.max_upload_bytes).toBe(5_000_000)
      expect(info.body.limits.max_pixels).toBe(12_000_000)
      expect(info.body.limits.accepted_types).toEqual(
        expect.arrayContaining(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/tiff"])
      )
      expect(info.body.limits.accepted_types).not.toContain("image/svg+xml")
      expect(info.body.limits.formats).toEqual(["jpeg", "png", "webp", "gif", "avif", "tiff"])
      expect(info.body.sizes).toEqual([
        { size: "small", box: { width: 320, height: 320 } },
        { size: "medium", box: { width: 800, height: 800 } },
        { size: "large", box: { width: 2048, height: 2048 } }
      ])
      expect(info.body.api_key_required).toBe(false)
      expect(info.body.backlog).toEqual({ queued: 0, by_size: { small: 0, medium: 0, large: 0 }, dead: 0 })
    }))

  it.effect("the backlog counts waiting, in-flight and dead-lettered jobs", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const bytes = fixture("photo-246x345.tiff")
      // Two uploads: one job per size each, and no worker to take them.
      for (let i = 0; i < 2; i++) yield* Effect.promise(() => uploadAndStart(baseUrl, bytes, "image/tiff"))
      expect((yield* fetchInfo(baseUrl)).body.backlog).toEqual({
        queued: 6,
        by_size: { small: 2, medium: 2, large: 2 },
        dead: 0
      })

      // A received job is still not done: it counts until deleted.
      const queue = yield* LocalQueue
      const options = { max: 1, visibilityTimeoutSeconds: 0, maxReceives: 1 }
      expect(yield* queue.receive("small", options)).toHaveLength(1)
      expect((yield* fetchInfo(baseUrl)).body.backlog.queued).toBe(6)

      // The next receive dead-letters it (receives used up) and claims the other small job.
      expect(yield* queue.receive("small", options)).toHaveLength(1)
      expect((yield* fetchInfo(baseUrl)).body.backlog).toEqual({
        queued: 5,
        by_size: { small: 1, medium: 2, large: 2 },
        dead: 1
      })

      // Done jobs leave the backlog.
      const [medium] = yield* queue.receive("medium", { ...options, maxReceives: 3 })
      yield* queue.delete(medium!.id)
      expect((yield* fetchInfo(baseUrl)).body.backlog).toEqual({
        queued: 4,
        by_size: { small: 1, medium: 1, large: 2 },
        dead: 1
      })
    }))
})

plain("the runner process answers /local/info with the limits from its environment", { timeout: 120_000 }, async () => {
  const database = await makeTestDatabase()
  const env = { IMGPIPE_MAX_UPLOAD_BYTES: "1234567", IMGPIPE_MAX_PIXELS: "7654321", IMGPIPE_API_KEYS: "k1" }
  const runner = await startRunner(database ? { databaseUrl: database.url, env } : { env }).catch(
    async (error: unknown) => {
      await database?.drop()
      throw error
    }
  )
  try {
    const res = await fetch(`${runner.baseUrl}/local/info`)
    expect(res.status).toBe(200)
    const info = (await res.json()) as LocalInfo
    expect(info.limits.max_upload_bytes).toBe(1_234_567)
    expect(info.limits.max_pixels).toBe(7_654_321)
    // Open like /health (the page reads it before a key is typed), and says a key is needed.
    expect(info.api_key_required).toBe(true)
    expect(info.backlog.queued).toBe(0)
  } finally {
    await runner.stop()
    removeDir(runner.dataDir)
    await database?.drop()
  }
})
