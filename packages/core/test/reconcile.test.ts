/**
 * The reconcile use case on the real database (PGlite, or PostgreSQL with TEST_DATABASE_URL) and
 * the embedded table queue: stalled images are re-sent once and then failed, expired uploads
 * close, backlogged images (jobs still queued) are left alone, and two runs at once change each
 * row once. Clocks are moved back with SQL; the windows are the defaults (900 s, 86400 s).
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { deliverySettingsLayer, ReconcileSettingsLive, SettingsLive } from "../src/config.js"
import type { ImageNotFound } from "../src/domain/errors.js"
import { type ImageId, newImageId } from "../src/domain/ids.js"
import { ImageStatus } from "../src/domain/image.js"
import { IMAGE_SIZES, type ImageSize, rawKey, renditionKey } from "../src/domain/sizes.js"
import { diskStorageLayer } from "../src/local/DiskStorage.js"
import { LocalQueue } from "../src/local/LocalQueue.js"
import { LocalQueueLive } from "../src/local/PgQueue.js"
import { ImageRepository } from "../src/services/ImageRepository.js"
import { ObjectStorage } from "../src/services/ObjectStorage.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { getImage } from "../src/usecases/getImage.js"
import { getStatus } from "../src/usecases/getStatus.js"
import { reconcile } from "../src/usecases/reconcile.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"
import { backdateProgress, backdateUploadExpiry, resetAll, stallState } from "./support/reconcile.js"

/** The embedded disk storage in a temporary folder: the reconciler HEADs uploads before expiring them. */
const DiskLive = Layer.unwrapScoped(
  Effect.map(
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "imgpipe-reconcile-" })),
    (dataDir) => diskStorageLayer({ dataDir, publicUrl: "http://127.0.0.1:9", signingSecret: Option.none() })
  )
).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie)

const TestLayer = Layer.mergeAll(ImageRepositorySql, LocalQueueLive, DiskLive).pipe(
  Layer.provideMerge(Layer.mergeAll(SettingsLive, ReconcileSettingsLive, deliverySettingsLayer({ mode: "signed" }))),
  Layer.provideMerge(TestDatabase)
)

const STALE = 901 // seconds: just past the default stall window

const newImage = Effect.gen(function* () {
  const repo = yield* ImageRepository
  const id = yield* newImageId
  yield* repo.create({
    id,
    declaredContentType: "image/png",
    declaredBytes: 1000,
    uploadExpiresAt: new Date(Date.now() + 900_000)
  })
  return id
})

/** Uploaded (processing) with `ready` sizes recorded, then left with no progress past the window. */
const stalledImage = (ready: ReadonlyArray<ImageSize> = []) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const id = yield* newImage
    yield* repo.markUploaded([{ id, bytes: 1000 }])
    for (const size of ready) yield* recordSize(id, size)
    yield* backdateProgress(id, STALE)
    return id
  })

const recordSize = (id: ImageId, size: ImageSize) =>
  Effect.flatMap(
    ImageRepository,
    (repo) =>
      repo.recordRendition(id, size, {
        key: renditionKey(id, size),
        width: 10,
        height: 10,
        bytes: 100,
        contentType: "image/png"
      }, IMAGE_SIZES)
  )

/** Every queued job as [image, size], and the queue emptied (as workers that lost them would). */
const takeJobs = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ image_id: string; size: string }>`
    DELETE FROM jobs RETURNING body->>'image_id' AS image_id, body->>'size' AS size`
  return rows.map((row) => [row.image_id, row.size] as const).sort()
}).pipe(Effect.orDie)

const view = (id: ImageId) =>
  Effect.flatMap(ImageRepository, (repo) => repo.find(id)).pipe(Effect.map(Option.getOrThrow))

layer(TestLayer, { timeout: 60_000 })(`reconcile on ${testDatabaseKind}`, (it) => {
  describe("stalled processing", () => {
    it.effect("is re-sent once (missing sizes only), and a rendition arriving then ends it ready", () =>
      Effect.gen(function* () {
        yield* resetAll
        const id = yield* stalledImage(["small"])
        const fresh = yield* stalledImage([])
        yield* backdateProgress(fresh, 60) // inside the window: not stalled

        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 1, failed: 0, backlogged: 0 })
        expect(yield* takeJobs).toEqual([[id, "large"], [id, "medium"]])
        expect(yield* stallState(id)).toEqual({ status: "processing", stall_resends: 1 })
        // The claim restarted the clock: a second run right away changes nothing.
        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 })

        yield* recordSize(id, "medium")
        yield* recordSize(id, "large")
        expect((yield* view(id)).image.status).toBe("ready")
        expect((yield* stallState(fresh))?.stall_resends).toBe(0)
      }))

    it.effect("stalled again after the resend: failed / processing_failed, the missing sizes failed too", () =>
      Effect.gen(function* () {
        yield* resetAll
        const id = yield* stalledImage(["small"])
        yield* reconcile
        yield* takeJobs // the re-sent jobs are lost as well
        yield* backdateProgress(id, STALE)

        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 1, backlogged: 0 })
        expect(yield* takeJobs).toEqual([])
        const { image, renditions } = yield* view(id)
        expect(image.status).toBe("failed")
        expect(image.errorCode).toBe("processing_failed")
        expect(image.errorMessage).toMatch(/stalled twice/)
        expect(image.errorMessage).toMatch(/medium, large/)
        expect(renditions.map((r) => [r.size, r.status, r.errorCode])).toEqual([
          ["small", "ready", null],
          ["medium", "failed", "processing_failed"],
          ["large", "failed", "processing_failed"]
        ])
        // Terminal for the reconciler: nothing more happens to it.
        yield* backdateProgress(id, STALE)
        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 })

        // A late rendition still heals it, as after a dead-lettered job.
        yield* recordSize(id, "medium")
        yield* recordSize(id, "large")
        const healed = yield* view(id)
        expect([healed.image.status, healed.image.errorCode]).toEqual(["ready", null])
      }))

    it.effect("an image whose jobs are still queued is backlogged, not stalled: no resend, no failure", () =>
      Effect.gen(function* () {
        yield* resetAll
        const queue = yield* LocalQueue
        const id = yield* stalledImage([])
        yield* queue.send([{ image_id: id, raw_key: id, size: "large" }])
        const before = (yield* view(id)).image.updatedAt

        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 1 })
        expect(yield* stallState(id)).toEqual({ status: "processing", stall_resends: 0 })
        expect(yield* takeJobs).toEqual([[id, "large"]])
        // Its clock restarted, so a long backlog does not hold the batch's first rows for ever.
        expect((yield* view(id)).image.updatedAt.getTime()).toBeGreaterThan(before.getTime())

        // Once re-sent, a later stall with its jobs still queued is not a second stall either.
        yield* backdateProgress(id, STALE)
        expect((yield* reconcile).resent).toBe(1)
        yield* backdateProgress(id, STALE)
        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 1 })
        expect((yield* stallState(id))?.status).toBe("processing")
      }))

    it.effect("a rendition recorded within the window is progress", () =>
      Effect.gen(function* () {
        yield* resetAll
        const id = yield* stalledImage([])
        yield* recordSize(id, "small") // touches the rendition, not the image row
        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 })
        expect(yield* stallState(id)).toEqual({ status: "processing", stall_resends: 0 })
      }))
  })

  describe("uploads that never arrive", () => {
    it.effect("expire after the URL's expiry plus the grace; get_image 404s, the status says expired", () =>
      Effect.gen(function* () {
        yield* resetAll
        const old = yield* newImage
        const inGrace = yield* newImage
        yield* backdateUploadExpiry(old, 86_401)
        yield* backdateUploadExpiry(inGrace, 86_000)

        expect(yield* reconcile).toEqual({ expired: 1, arrived: 0, resent: 0, failed: 0, backlogged: 0 })
        expect((yield* getStatus(old)).image.status).toBe("expired")
        expect((yield* getStatus(inGrace)).image.status).toBe("awaiting_upload")
        const error = (yield* Effect.flip(getImage({ imageId: old, size: "small", format: "auto" }))) as ImageNotFound
        expect(error._tag).toBe("ImageNotFound")
        expect(error.message).toMatch(/never arrived.*expired/)
        // A notification that still turns up does not revive it.
        const [mark] = yield* Effect.flatMap(ImageRepository, (repo) => repo.markUploaded([{ id: old, bytes: 10 }]))
        expect([mark?.started, mark?.image.status]).toEqual([false, "expired"])
        expect(yield* reconcile).toEqual({ expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 })
      }))

    it.effect("an upload stored after all (its notification lost) is started, not expired, and only once", () =>
      Effect.gen(function* () {
        yield* resetAll
        yield* takeJobs
        const storage = yield* ObjectStorage
        const stored = yield* newImage
        const absent = yield* newImage
        yield* storage.put({
          bucket: "raw",
          key: rawKey(stored),
          body: new Uint8Array(1234),
          contentType: "image/png",
          cacheControl: "no-store"
        })
        for (const id of [stored, absent]) yield* backdateUploadExpiry(id, 86_401)

        const [a, b] = yield* Effect.all([reconcile, reconcile], { concurrency: 2 })
        expect(a.arrived + b.arrived).toBe(1)
        expect(a.expired + b.expired).toBe(1)
        expect((yield* view(stored)).image).toMatchObject({ status: "processing", originalBytes: 1234 })
        expect((yield* view(absent)).image.status).toBe("expired")
        expect(yield* takeJobs).toEqual(IMAGE_SIZES.map((size) => [stored, size] as const).sort())
      }))
  })

  it.effect("every ImageStatus is one the database accepts and the repository decodes", () =>
    Effect.gen(function* () {
      yield* resetAll
      const sql = yield* SqlClient.SqlClient
      for (const status of ImageStatus.literals) {
        const id = yield* newImage
        const error = status === "failed" ? "processing_failed" : null
        yield* sql`UPDATE images SET status = ${status}, error_code = ${error}, error_message = ${error} WHERE id = ${id}`
          .pipe(
            Effect.orDie
          )
        expect((yield* view(id)).image.status).toBe(status)
      }
    }))

  it.effect("two runs at once change each row once: counts add up, each job sent once", () =>
    Effect.gen(function* () {
      yield* resetAll
      const once = yield* Effect.forEach(Array.from({ length: 6 }), () => stalledImage(["small"]))
      const twice = yield* Effect.forEach(Array.from({ length: 4 }), () => stalledImage([]))
      yield* reconcile
      yield* takeJobs
      for (const id of twice) yield* backdateProgress(id, STALE)
      // `once` were claimed above with the `twice` ones; make them first-time stalls again.
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE images SET stall_resends = 0 WHERE id = ANY(${once}::uuid[])`.pipe(Effect.orDie)
      for (const id of once) yield* backdateProgress(id, STALE)
      const expiring = yield* Effect.forEach(Array.from({ length: 5 }), () => newImage)
      for (const id of expiring) yield* backdateUploadExpiry(id, 90_000)

      const [a, b] = yield* Effect.all([reconcile, reconcile], { concurrency: 2 })
      expect(a.expired + b.expired).toBe(5)
      expect(a.resent + b.resent).toBe(6)
      expect(a.failed + b.failed).toBe(4)
      const jobs = yield* takeJobs
      expect(jobs).toHaveLength(6 * 2)
      expect(new Set(jobs.map(([image, size]) => `${image}/${size}`)).size).toBe(12)
      for (const id of once) expect((yield* stallState(id))?.stall_resends).toBe(1)
    }))
})
