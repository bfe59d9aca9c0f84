import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Schema } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { newImageId } from "../src/domain/ids.js"
import type { ImageRecord } from "../src/domain/image.js"
import { IMAGE_SIZES, type ImageSize, renditionKey } from "../src/domain/sizes.js"
import { ImageRepository, type RenditionOutput } from "../src/services/ImageRepository.js"
import { DatabaseLive, PgliteLive } from "../src/sql/embedded.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { migrations, runMigrations } from "../src/sql/migrate.js"
import { ImageRow, RenditionFromRow } from "../src/sql/rows.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"

const TestLayer = ImageRepositorySql.pipe(Layer.provideMerge(TestDatabase))

const newImage = (declaredBytes = 1234) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const id = yield* newImageId
    return yield* repo.create({
      id,
      declaredContentType: "image/jpeg",
      declaredBytes,
      uploadExpiresAt: new Date(Date.now() + 15 * 60_000)
    })
  })

/** An image whose original arrived (`processing`). */
const uploadedImage = Effect.gen(function* () {
  const repo = yield* ImageRepository
  const image = yield* newImage()
  const [uploaded] = yield* repo.markUploaded([{ id: image.id, bytes: 1200 }])
  if (uploaded === undefined) throw new Error("markUploaded returned nothing")
  return uploaded.image
})

const output = (image: ImageRecord, size: ImageSize): RenditionOutput => ({
  key: renditionKey(image.id, size),
  width: size === "small" ? 320 : size === "medium" ? 1024 : 2048,
  height: size === "small" ? 240 : size === "medium" ? 768 : 1536,
  bytes: size === "small" ? 10_000 : size === "medium" ? 90_000 : 300_000,
  contentType: "image/jpeg"
})

const findView = (id: ImageRecord["id"]) =>
  Effect.flatMap(ImageRepository, (repo) => repo.find(id)).pipe(Effect.map(Option.getOrThrow))

/** Everything a repeated write must leave exactly as it was. */
const snapshot = (id: ImageRecord["id"]) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const images = yield* sql`SELECT * FROM images WHERE id = ${id}`
    const renditions = yield* sql`SELECT * FROM renditions WHERE image_id = ${id} ORDER BY size`
    return { images, renditions }
  })

/** Runs `write` twice and checks the second run changed nothing at all (`updated_at` included). */
const idempotent = <A, E, R>(id: ImageRecord["id"], write: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const first = yield* write
    const after = yield* snapshot(id)
    const second = yield* write
    expect(yield* snapshot(id)).toEqual(after)
    return [first, second] as const
  })

layer(TestLayer)(`ImageRepositorySql on ${testDatabaseKind}`, (it) => {
  it.effect("create inserts an awaiting_upload record, and a repeated create returns it unchanged", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const id = yield* newImageId
      const input = {
        id,
        declaredContentType: "image/png",
        declaredBytes: 5_000,
        uploadExpiresAt: new Date("2030-01-02T03:04:05.678Z")
      }
      const [first, second] = yield* idempotent(id, repo.create(input))
      expect(first).toEqual(second)
      expect(first).toMatchObject({
        id,
        status: "awaiting_upload",
        declaredContentType: "image/png",
        declaredBytes: 5_000,
        uploadExpiresAt: new Date("2030-01-02T03:04:05.678Z"),
        originalBytes: null,
        originalStored: true,
        errorCode: null,
        errorMessage: null
      })
      expect(first.createdAt).toBeInstanceOf(Date)
    }))

  it.effect("byte counts are bigint columns decoded to numbers (over 2^31)", () =>
    Effect.gen(function* () {
      const image = yield* newImage(3_000_000_000)
      expect(image.declaredBytes).toBe(3_000_000_000)
      const view = yield* findView(image.id)
      expect(view.image.declaredBytes).toBe(3_000_000_000)
    }))

  it.effect("find: None for an unknown id; the image with no renditions yet", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      expect(Option.isNone(yield* repo.find(yield* newImageId))).toBe(true)
      const image = yield* newImage()
      const view = yield* findView(image.id)
      expect(view.image).toEqual(image)
      expect(view.renditions).toEqual([])
    }))

  it.effect("markUploaded moves awaiting_upload → processing once; repeats return the same record", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* newImage()
      const [first, second] = yield* idempotent(image.id, repo.markUploaded([{ id: image.id, bytes: 4321 }]))
      expect(first).toHaveLength(1)
      const record = first?.[0]?.image
      expect(record?.status).toBe("processing")
      expect(record?.originalBytes).toBe(4321)
      expect(first?.[0]?.started).toBe(true)
      expect(second).toEqual([{ image: record, started: false }])
      // A later, different event does not rewrite it either.
      const third = yield* repo.markUploaded([{ id: image.id, bytes: 9999 }])
      expect(third).toEqual([{ image: record, started: false }])
      expect(yield* repo.markUploaded([{ id: yield* newImageId, bytes: 1 }])).toEqual([])
      expect(yield* repo.markUploaded([])).toEqual([])
    }))

  it.effect("markUploaded marks a batch in one call: new, repeated and unknown ids together", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const a = yield* newImage()
      const b = yield* newImage()
      const c = yield* newImage()
      yield* repo.markUploaded([{ id: a.id, bytes: 10 }])
      const unknown = yield* newImageId
      const marks = yield* repo.markUploaded([
        { id: a.id, bytes: 11 },
        { id: b.id, bytes: 20 },
        { id: unknown, bytes: 1 },
        { id: c.id, bytes: 30 }
      ])
      const byId = new Map(marks.map((mark) => [mark.image.id, mark]))
      expect(marks).toHaveLength(3)
      expect(byId.get(a.id)).toMatchObject({ started: false, image: { status: "processing", originalBytes: 10 } })
      expect(byId.get(b.id)).toMatchObject({ started: true, image: { status: "processing", originalBytes: 20 } })
      expect(byId.get(c.id)).toMatchObject({ started: true, image: { status: "processing", originalBytes: 30 } })
      expect(byId.has(unknown)).toBe(false)
    }))

  it.effect("markUploaded leaves a failed image failed", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* newImage()
      yield* repo.markRejected(image.id, { code: "not_an_image", message: "nope" })
      const [after] = yield* repo.markUploaded([{ id: image.id, bytes: 10 }])
      expect(after?.started).toBe(false)
      expect(after?.image.status).toBe("failed")
      expect(after?.image.originalBytes).toBeNull()
    }))

  it.effect("recordOriginal stores what probing found, idempotently", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      const info = { format: "png", contentType: "image/png", width: 4000, height: 3000 }
      yield* idempotent(image.id, repo.recordOriginal(image.id, info))
      const view = yield* findView(image.id)
      expect(view.image).toMatchObject({
        originalFormat: "png",
        originalContentType: "image/png",
        originalWidth: 4000,
        originalHeight: 3000,
        status: "processing"
      })
    }))

  it.effect("recordRendition: repeats change nothing; the image turns ready with the last size", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      const [afterSmall, again] = yield* idempotent(
        image.id,
        repo.recordRendition(image.id, "small", output(image, "small"), IMAGE_SIZES)
      )
      expect(afterSmall.status).toBe("processing")
      expect(again).toEqual(afterSmall)
      yield* repo.recordRendition(image.id, "medium", output(image, "medium"), IMAGE_SIZES)
      const [ready, readyAgain] = yield* idempotent(
        image.id,
        repo.recordRendition(image.id, "large", output(image, "large"), IMAGE_SIZES)
      )
      expect(ready.status).toBe("ready")
      expect(readyAgain).toEqual(ready)

      const view = yield* findView(image.id)
      expect(view.image.status).toBe("ready")
      expect(view.renditions.map((r) => [r.size, r.status, r.key, r.width, r.height, r.bytes])).toEqual([
        ["small", "ready", `${image.id}/small`, 320, 240, 10_000],
        ["medium", "ready", `${image.id}/medium`, 1024, 768, 90_000],
        ["large", "ready", `${image.id}/large`, 2048, 1536, 300_000]
      ])
    }))

  it.effect("recordRendition: only the sizes in allSizes are required", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      const after = yield* repo.recordRendition(image.id, "small", output(image, "small"), ["small"])
      expect(after.status).toBe("ready")
    }))

  it.effect("three sizes recorded concurrently: every image ends ready (row lock, no lost update)", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const images = yield* Effect.all(Array.from({ length: 8 }, () => uploadedImage), { concurrency: "unbounded" })
      const results = yield* Effect.all(
        images.flatMap((image) =>
          IMAGE_SIZES.map((size) => repo.recordRendition(image.id, size, output(image, size), IMAGE_SIZES))
        ),
        { concurrency: "unbounded" }
      )
      // Exactly one of each image's three calls saw the image turn ready... or later ones saw it
      // ready already; in any case every image is ready now, with three ready renditions.
      expect(results.some((r) => r.status === "ready")).toBe(true)
      for (const image of images) {
        const view = yield* findView(image.id)
        expect(view.image.status).toBe("ready")
        expect(view.renditions.filter((r) => r.status === "ready")).toHaveLength(3)
      }
    }))

  it.effect("recordRendition for an unknown image fails with DatabaseError", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const id = yield* newImageId
      const error = yield* Effect.flip(
        repo.recordRendition(
          id,
          "small",
          { key: "k", width: 1, height: 1, bytes: 1, contentType: "image/jpeg" },
          IMAGE_SIZES
        )
      )
      expect(error._tag).toBe("DatabaseError")
      expect(error.operation).toBe("recordRendition")
    }))

  it.effect("markRejected: failed with the reason, idempotently; final for later renditions", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      yield* idempotent(image.id, repo.markRejected(image.id, { code: "too_many_pixels", message: "too big" }))
      const view = yield* findView(image.id)
      expect(view.image).toMatchObject({ status: "failed", errorCode: "too_many_pixels", errorMessage: "too big" })
      // Another size's job words the same refusal differently: the first reason stands.
      yield* repo.markRejected(image.id, { code: "corrupt_image", message: "Unknown error" })
      expect((yield* findView(image.id)).image).toMatchObject({ errorCode: "too_many_pixels", errorMessage: "too big" })

      // A dead-lettered size does not replace the rejection, and renditions do not undo it.
      yield* repo.markRenditionFailed(image.id, "small", { code: "processing_failed", message: "gave up" })
      for (const size of IMAGE_SIZES) {
        yield* repo.recordRendition(image.id, size, output(image, size), IMAGE_SIZES)
      }
      const later = yield* findView(image.id)
      expect(later.image).toMatchObject({ status: "failed", errorCode: "too_many_pixels", errorMessage: "too big" })
    }))

  it.effect("markRejected does not override a ready image", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      for (const size of IMAGE_SIZES) {
        yield* repo.recordRendition(image.id, size, output(image, size), IMAGE_SIZES)
      }
      yield* idempotent(image.id, repo.markRejected(image.id, { code: "corrupt_image", message: "late" }))
      const view = yield* findView(image.id)
      expect(view.image).toMatchObject({ status: "ready", errorCode: null, errorMessage: null })
    }))

  it.effect("markRenditionFailed: rendition and image failed, idempotently; a later success clears it", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      yield* repo.recordRendition(image.id, "small", output(image, "small"), IMAGE_SIZES)
      const failure = { code: "processing_failed", message: "Gave up on the large size after 3 attempts" } as const
      yield* idempotent(image.id, repo.markRenditionFailed(image.id, "large", failure))
      const failed = yield* findView(image.id)
      expect(failed.image).toMatchObject({ status: "failed", errorCode: "processing_failed" })
      expect(failed.renditions.map((r) => [r.size, r.status, r.errorCode])).toEqual([
        ["small", "ready", null],
        ["large", "failed", "processing_failed"]
      ])

      // Redriven, the jobs succeed: the image recovers and forgets the failure.
      yield* repo.recordRendition(image.id, "medium", output(image, "medium"), IMAGE_SIZES)
      const ready = yield* repo.recordRendition(image.id, "large", output(image, "large"), IMAGE_SIZES)
      expect(ready).toMatchObject({ status: "ready", errorCode: null, errorMessage: null })
      const view = yield* findView(image.id)
      expect(view.renditions.every((r) => r.status === "ready" && r.errorCode === null)).toBe(true)
    }))

  it.effect("markRenditionFailed leaves a ready rendition, and its image, alone", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      yield* repo.recordRendition(image.id, "small", output(image, "small"), IMAGE_SIZES)
      // A late duplicate for a size that is done: nothing to record.
      yield* idempotent(
        image.id,
        repo.markRenditionFailed(image.id, "small", { code: "processing_failed", message: "duplicate" })
      )
      const view = yield* findView(image.id)
      expect(view.image.status).toBe("processing")
      expect(view.renditions.map((r) => [r.size, r.status])).toEqual([["small", "ready"]])

      // And a ready image stays ready.
      for (const size of IMAGE_SIZES) {
        yield* repo.recordRendition(image.id, size, output(image, size), IMAGE_SIZES)
      }
      yield* repo.markRenditionFailed(image.id, "large", { code: "processing_failed", message: "late" })
      expect((yield* findView(image.id)).image.status).toBe("ready")
    }))

  it.effect("markRenditionFailed for an unknown image is a no-op", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      yield* repo.markRenditionFailed(yield* newImageId, "small", { code: "processing_failed", message: "x" })
    }))

  it.effect("markOriginalRemoved clears original_stored, idempotently", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      yield* idempotent(image.id, repo.markOriginalRemoved(image.id))
      expect((yield* findView(image.id)).image.originalStored).toBe(false)
    }))

  it.effect("listAwaitingUpload returns awaiting images only, oldest first, up to the limit", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const a = yield* newImage()
      const b = yield* newImage()
      const uploaded = yield* uploadedImage
      const all = yield* repo.listAwaitingUpload(10_000)
      expect(all.every((image) => image.status === "awaiting_upload")).toBe(true)
      const ids = all.map((image) => image.id)
      expect(ids).toContain(a.id)
      expect(ids).toContain(b.id)
      expect(ids).not.toContain(uploaded.id)
      expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id))
      expect(yield* repo.listAwaitingUpload(1)).toHaveLength(1)
    }))

  it.effect("ping succeeds", () => Effect.flatMap(ImageRepository, (repo) => repo.ping))

  it.effect("database errors surface as DatabaseError with the reason and no connection details", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const error = yield* Effect.flip(newImage(-1))
      expect(error._tag).toBe("DatabaseError")
      expect(error.operation).toBe("create")
      expect(error.message).toContain("images_declared_bytes_check")
      expect(error.message).not.toMatch(/postgres(ql)?:\/\//)
      // The failed call left nothing behind.
      expect(yield* repo.listAwaitingUpload(10_000)).not.toContainEqual(expect.objectContaining({ declaredBytes: -1 }))
    }))

  it.effect("variants, the placeholder, duplicateOf and the fingerprint: stored, decoded, repeats change nothing", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const source = yield* uploadedImage
      const image = yield* uploadedImage
      const fingerprint = { sha256: "ab".repeat(32), renderProfile: "e1;small=320x320;webp;px=9" }
      yield* idempotent(
        image.id,
        repo.recordOriginal(image.id, { format: "png", contentType: "image/png", width: 40, height: 30, fingerprint })
      )
      // A call without a fingerprint leaves it.
      yield* repo.recordOriginal(image.id, { format: "png", contentType: "image/png", width: 40, height: 30 })
      const variants = [
        {
          format: "webp" as const,
          key: `${renditionKey(image.id, "small")}.webp`,
          bytes: 900,
          contentType: "image/webp"
        },
        {
          format: "avif" as const,
          key: `${renditionKey(image.id, "small")}.avif`,
          bytes: 700,
          contentType: "image/avif"
        }
      ]
      const placeholder = {
        thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI",
        dominantColor: "#a0b1c2",
        width: 100,
        height: 75
      }
      yield* idempotent(
        image.id,
        repo.recordRendition(
          image.id,
          "small",
          { ...output(image, "small"), variants, placeholder, duplicateOf: source.id },
          IMAGE_SIZES
        )
      )
      const view = yield* findView(image.id)
      expect(view.image).toMatchObject({ sha256: fingerprint.sha256, duplicateOf: source.id, placeholder })
      expect(view.renditions[0]?.variants).toEqual(variants)
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ render_profile: string }>`SELECT render_profile FROM images WHERE id = ${image.id}`
      expect(row?.render_profile).toBe(fingerprint.renderProfile)

      // A size recorded without them keeps the image's placeholder and duplicate_of.
      yield* repo.recordRendition(image.id, "medium", output(image, "medium"), IMAGE_SIZES)
      const later = yield* findView(image.id)
      expect(later.image).toMatchObject({ duplicateOf: source.id, placeholder })
      expect(later.renditions[1]?.variants).toEqual([])
      // Rejected with a fingerprint: kept for the duplicate lookup.
      const refused = yield* uploadedImage
      yield* idempotent(
        refused.id,
        repo.markRejected(refused.id, { code: "corrupt_image", message: "bad" }, fingerprint)
      )
      expect((yield* findView(refused.id)).image).toMatchObject({ status: "failed", sha256: fingerprint.sha256 })
    }))

  it.effect("the duplicate lookup can use the (sha256, render_profile) index", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // The test table is tiny, so the planner would scan it: show the index is usable at all.
      const plan = yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SET LOCAL enable_seqscan = off`
          return yield* sql<{ "QUERY PLAN": string }>`
            EXPLAIN SELECT * FROM images
            WHERE sha256 = ${"cd".repeat(32)} AND render_profile = 'p' AND id <> ${yield* newImageId}::uuid
            ORDER BY status = 'ready' DESC, created_at, id LIMIT 1`
        })
      )
      expect(plan.map((row) => row["QUERY PLAN"]).join("\n")).toContain("images_sha256_profile_idx")
    }))

  it.effect("a sha256 that is not 64 hex digits is refused by the table", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      const image = yield* uploadedImage
      const failure = yield* Effect.flip(
        repo.recordOriginal(image.id, {
          format: "png",
          contentType: "image/png",
          width: 1,
          height: 1,
          fingerprint: { sha256: "not-a-hash", renderProfile: "p" }
        })
      )
      expect(failure).toMatchObject({ _tag: "DatabaseError", message: expect.stringContaining("images_sha256_check") })
    }))
})

describe("row decoding", () => {
  it("jsonb columns decode whether the driver parsed them or not", () => {
    const placeholder = { thumbhash: "AAAA", dominantColor: "#000000", width: 1, height: 1 }
    const variants = [{ format: "webp", key: "k.webp", bytes: 1, contentType: "image/webp" }]
    const row = {
      image_id: "0190f1a4-7a9b-7c3d-8e2f-000000000000",
      size: "small",
      status: "ready",
      key: "k",
      width: 1,
      height: 1,
      bytes: "1",
      content_type: "image/jpeg",
      error_code: null,
      error_message: null,
      created_at: new Date(0),
      updated_at: new Date(0)
    }
    const decode = Schema.decodeUnknownSync(RenditionFromRow)
    expect(decode({ ...row, variants }).variants).toEqual(variants)
    expect(decode({ ...row, variants: JSON.stringify(variants) }).variants).toEqual(variants)
    expect(() => decode({ ...row, variants: "{not json" })).toThrow()
    const decodePlaceholder = Schema.decodeUnknownSync(ImageRow.fields.placeholder)
    expect(decodePlaceholder(JSON.stringify(placeholder))).toEqual(placeholder)
    expect(decodePlaceholder(null)).toBeNull()
  })
})

describe("database layers", () => {
  const tempDir = Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "imgpipe-db-test-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

  it.live(
    "DatabaseLive without DATABASE_URL: PGlite in IMGPIPE_DATA_DIR, locked while open, kept across restarts",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir
        const config = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["IMGPIPE_DATA_DIR", dataDir]])))
        const database = DatabaseLive.pipe(Layer.provide(config))
        const id = yield* newImageId

        yield* Effect.gen(function* () {
          expect(yield* runMigrations).toHaveLength(Object.keys(migrations).length)
          const repo = yield* ImageRepository
          yield* repo.create({ id, declaredContentType: "image/gif", declaredBytes: 7, uploadExpiresAt: new Date() })
          // A second open of the same directory (in this process or another) is refused.
          const refused = yield* Effect.flip(Layer.build(PgliteLive(join(dataDir, "db"))).pipe(Effect.scoped))
          expect(refused).toMatchObject({ _tag: "DatabaseError", message: expect.stringContaining("already open") })
        }).pipe(Effect.provide(ImageRepositorySql.pipe(Layer.provideMerge(database))))

        // Closed cleanly (lock released), reopened: nothing lost, nothing left to migrate.
        expect(existsSync(join(dataDir, "db.lock"))).toBe(false)
        yield* Effect.gen(function* () {
          expect(yield* runMigrations).toEqual([])
          const repo = yield* ImageRepository
          const view = yield* repo.find(id)
          expect(Option.map(view, (v) => v.image.declaredContentType)).toEqual(Option.some("image/gif"))
        }).pipe(Effect.provide(ImageRepositorySql.pipe(Layer.provideMerge(database))))
      }).pipe(Effect.scoped),
    60_000
  )

  it.live.runIf(testDatabaseKind === "PostgreSQL")(
    "DatabaseLive with DATABASE_URL: that PostgreSQL server [PostgreSQL only: needs a server; set TEST_DATABASE_URL]",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ version: string }>`SELECT version()`
        expect(row?.version).toMatch(/^PostgreSQL/)
        expect(row?.version).not.toContain("PGlite")
      }).pipe(
        Effect.provide(
          DatabaseLive.pipe(
            Layer.provide(
              Layer.setConfigProvider(
                ConfigProvider.fromMap(new Map([["DATABASE_URL", process.env["TEST_DATABASE_URL"] ?? ""]]))
              )
            )
          )
        )
      )
  )
})
