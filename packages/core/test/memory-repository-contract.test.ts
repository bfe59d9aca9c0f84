/**
 * The in-memory repository of `@imgpipe/core/testing` keeps the contract of the SQL one: the same
 * steps give the same records on both (PGlite, or PostgreSQL with TEST_DATABASE_URL), so the
 * use-case unit tests that run on it say something about production.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { makeMemoryImages } from "@imgpipe/core/testing"
import { Effect, Layer, Option } from "effect"
import { type ImageId, newImageId } from "../src/domain/ids.js"
import type { ImageView } from "../src/domain/image.js"
import { IMAGE_SIZES, type ImageSize, renditionKey } from "../src/domain/sizes.js"
import { ImageRepository, ReconcileRepository } from "../src/services/ImageRepository.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"

const project = (view: Option.Option<ImageView>) =>
  Option.map(view, ({ image, renditions }) => ({
    status: image.status,
    errorCode: image.errorCode,
    originalBytes: image.originalBytes,
    originalFormat: image.originalFormat,
    originalStored: image.originalStored,
    renditions: renditions.map((r) => `${r.size}:${r.status}${r.errorCode === null ? "" : `:${r.errorCode}`}`)
  }))

/** Steps through the repository's writes; returns what each step left, projected. */
const scenario = Effect.gen(function* () {
  const repo = yield* ImageRepository
  const reconcile = yield* ReconcileRepository
  const trace: Array<unknown> = []
  const look = (id: ImageId) => Effect.map(repo.find(id), project)
  const create = Effect.flatMap(
    newImageId,
    (id) =>
      repo.create({
        id,
        declaredContentType: "image/png",
        declaredBytes: 100,
        uploadExpiresAt: new Date(Date.UTC(2030, 0, 1))
      })
  )
  const record = (id: ImageId, size: ImageSize) =>
    repo.recordRendition(
      id,
      size,
      { key: renditionKey(id, size), width: 10, height: 10, bytes: 10, contentType: "image/png" },
      IMAGE_SIZES
    )
  const deadLetter = (id: ImageId, size: ImageSize) =>
    repo.markRenditionFailed(id, size, { code: "processing_failed", message: "gave up" })

  // A pipeline with a dead letter that is redriven.
  const a = yield* create
  trace.push((yield* repo.create({ ...a, declaredBytes: 999 })).declaredBytes)
  const unknown = yield* newImageId
  trace.push(
    (yield* repo.markUploaded([{ id: a.id, bytes: 500 }, { id: unknown, bytes: 1 }])).map((
      m
    ) => [m.started, m.image.status])
  )
  trace.push((yield* repo.markUploaded([{ id: a.id, bytes: 600 }])).map((m) => [m.started, m.image.originalBytes]))
  yield* repo.recordOriginal(a.id, { format: "png", contentType: "image/png", width: 10, height: 10 })
  trace.push((yield* record(a.id, "small")).status)
  yield* deadLetter(a.id, "medium")
  trace.push(yield* look(a.id))
  yield* deadLetter(a.id, "small")
  trace.push(yield* look(a.id))
  trace.push((yield* record(a.id, "medium")).status)
  trace.push((yield* record(a.id, "large")).status)
  yield* repo.markRejected(a.id, { code: "not_an_image", message: "late" })
  yield* repo.markOriginalRemoved(a.id)
  trace.push(yield* look(a.id))

  // A rejection replaces a dead letter, the first rejection stands, renditions never make it ready.
  const b = yield* create
  yield* repo.markUploaded([{ id: b.id, bytes: 10 }])
  yield* deadLetter(b.id, "large")
  yield* repo.markRejected(b.id, { code: "not_an_image", message: "first" })
  yield* repo.markRejected(b.id, { code: "corrupt_image", message: "second" })
  for (const size of IMAGE_SIZES) yield* record(b.id, size)
  yield* deadLetter(b.id, "large")
  trace.push(yield* look(b.id))

  // Awaiting uploads are listed; expiring changes only those still awaiting, once.
  const c = yield* create
  const waiting = (yield* repo.listAwaitingUpload(10_000)).map((image) => image.id)
  trace.push([a.id, b.id, c.id].map((id) => waiting.includes(id)))
  trace.push((yield* reconcile.expireUploads([a.id, c.id])).map((id) => (id === c.id ? "c" : id)))
  trace.push(yield* reconcile.expireUploads([c.id]))
  trace.push(Option.map(yield* look(c.id), (v) => v.status))

  // A twice-stalled image fails; its missing sizes say why, a ready one stays.
  const d = yield* create
  yield* repo.markUploaded([{ id: d.id, bytes: 10 }])
  yield* record(d.id, "small")
  yield* reconcile.failStalled([{ id: d.id, missing: ["medium", "large"], message: "stalled twice" }])
  trace.push(yield* look(d.id))
  return trace
})

const expected = [
  100,
  [[true, "processing"]],
  [[false, 500]],
  "processing",
  Option.some({
    status: "failed",
    errorCode: "processing_failed",
    originalBytes: 500,
    originalFormat: "png",
    originalStored: true,
    renditions: ["small:ready", "medium:failed:processing_failed"]
  }),
  Option.some({
    status: "failed",
    errorCode: "processing_failed",
    originalBytes: 500,
    originalFormat: "png",
    originalStored: true,
    renditions: ["small:ready", "medium:failed:processing_failed"]
  }),
  "failed",
  "ready",
  Option.some({
    status: "ready",
    errorCode: null,
    originalBytes: 500,
    originalFormat: "png",
    originalStored: false,
    renditions: ["small:ready", "medium:ready", "large:ready"]
  }),
  Option.some({
    status: "failed",
    errorCode: "not_an_image",
    originalBytes: 10,
    originalFormat: null,
    originalStored: true,
    renditions: ["small:ready", "medium:ready", "large:ready"]
  }),
  [false, false, true],
  ["c"],
  [],
  Option.some("expired"),
  Option.some({
    status: "failed",
    errorCode: "processing_failed",
    originalBytes: 10,
    originalFormat: null,
    originalStored: true,
    renditions: ["small:ready", "medium:failed:processing_failed", "large:failed:processing_failed"]
  })
]

describe("in-memory repository", () => {
  it.effect("follows the repository contract", () => {
    const memory = makeMemoryImages()
    return Effect.map(scenario, (trace) => expect(trace).toEqual(expected)).pipe(Effect.provide(memory.layer))
  })
})

layer(ImageRepositorySql.pipe(Layer.provideMerge(TestDatabase)), { timeout: 60_000 })(
  `SQL repository on ${testDatabaseKind}`,
  (it) => {
    it.effect("follows the same contract", () => Effect.map(scenario, (trace) => expect(trace).toEqual(expected)))
  }
)
