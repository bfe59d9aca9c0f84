/**
 * The in-memory repository of `@imgpipe/core/testing` keeps the contract of the SQL one: the same
 * steps give the same records on both (PGlite, or PostgreSQL with TEST_DATABASE_URL), so the
 * use-case unit tests that run on it say something about production.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { makeMemoryImages } from "@imgpipe/core/testing"
import { Effect, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
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

/**
 * Duplicate uploads: fingerprints recorded with the original or the refusal, variants, the
 * placeholder and `duplicateOf` recorded with a rendition, and `findDuplicate`'s choice.
 */
const duplicates = Effect.gen(function* () {
  const repo = yield* ImageRepository
  const sha256 = randomBytes(32).toString("hex")
  const other = randomBytes(32).toString("hex")
  const profile = "e1;small=320x320;webp;px=100"
  const names = new Map<string, string>()
  const created = (name: string) =>
    Effect.gen(function* () {
      const id = yield* newImageId
      names.set(id, name)
      yield* repo.create({
        id,
        declaredContentType: "image/png",
        declaredBytes: 10,
        uploadExpiresAt: new Date(2030, 0)
      })
      yield* repo.markUploaded([{ id, bytes: 10 }])
      // Distinct creation times (wall clock: the database's): "earliest" is well defined on both.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      return id
    })
  const original = (id: ImageId, fingerprint = { sha256, renderProfile: profile }) =>
    repo.recordOriginal(id, { format: "png", contentType: "image/png", width: 10, height: 10, fingerprint })
  const variant = (id: ImageId) => ({
    format: "webp" as const,
    key: `${renditionKey(id, "small")}.webp`,
    bytes: 7,
    contentType: "image/webp"
  })
  const placeholder = { thumbhash: "AAAA", dominantColor: "#102030", width: 100, height: 75 }
  const find = (id: ImageId, hash = sha256, profileOf = profile) =>
    Effect.map(
      repo.findDuplicate({ id, sha256: hash, profile: profileOf }),
      (match) =>
        Option.map(match, (m) =>
          m._tag === "Ready"
            ? {
              ready: names.get(m.image.id),
              sha256: m.image.sha256 === sha256,
              placeholder: m.image.placeholder,
              renditions: m.renditions.map((r) => [r.size, r.variants.map((v) => v.format)])
            }
            : { rejected: names.get(m.imageId), code: m.code, message: m.message })
    )
  const trace: Array<unknown> = []

  // Refused for a reason that does not hold for the same bytes elsewhere: never a match.
  const tooBig = yield* created("tooBig")
  yield* repo.markRejected(tooBig, { code: "too_large_to_decode", message: "budget" }, {
    sha256,
    renderProfile: profile
  })
  trace.push(yield* find(tooBig))
  // Refused for good: a match for the same bytes and profile (not for itself, another hash or profile).
  const refused = yield* created("refused")
  yield* repo.markRejected(refused, { code: "corrupt_image", message: "truncated" }, { sha256, renderProfile: profile })
  const first = yield* created("first")
  trace.push(yield* find(first), yield* find(refused), yield* find(first, other), yield* find(first, sha256, "e2"))

  // A ready image wins over the refusal; its renditions come with it, variants and placeholder too.
  yield* original(first)
  const small = { key: renditionKey(first, "small"), width: 10, height: 10, bytes: 10, contentType: "image/jpeg" }
  yield* repo.recordRendition(first, "small", { ...small, variants: [variant(first)], placeholder }, ["small"])
  const second = yield* created("second")
  trace.push(yield* find(second))
  trace.push(
    Option.map(yield* repo.find(first), (v) => [
      v.image.sha256 === sha256,
      v.renditions[0]?.variants.map((x) => [x.format, x.key === variant(first).key, x.bytes, x.contentType])
    ])
  )

  // A copy: `duplicateOf` and the placeholder on the image; a later ready image does not displace the first.
  yield* original(second)
  yield* repo.recordRendition(second, "small", {
    ...small,
    key: renditionKey(second, "small"),
    variants: [variant(second)],
    placeholder,
    duplicateOf: first
  }, ["small"])
  const third = yield* created("third")
  trace.push(yield* find(third))
  // The first, reprocessed, is not copied back from its own copy (the refusal is left).
  trace.push(yield* find(first))
  const copy = Option.getOrThrow(yield* repo.find(second))
  trace.push([names.get(copy.image.duplicateOf ?? ""), copy.image.placeholder, copy.image.status])
  // A rendition recorded without them leaves the image's placeholder and duplicateOf.
  yield* repo.recordRendition(second, "small", { ...small, key: renditionKey(second, "small") }, ["small"])
  const after = Option.getOrThrow(yield* repo.find(second))
  trace.push([names.get(after.image.duplicateOf ?? ""), after.image.placeholder, after.renditions[0]?.variants])
  return trace
})

const placeholderOf = { thumbhash: "AAAA", dominantColor: "#102030", width: 100, height: 75 }
const duplicatesExpected = [
  Option.none(),
  Option.some({ rejected: "refused", code: "corrupt_image", message: "truncated" }),
  Option.none(),
  Option.none(),
  Option.none(),
  Option.some({
    ready: "first",
    sha256: true,
    placeholder: placeholderOf,
    renditions: [["small", ["webp"]]]
  }),
  Option.some([true, [["webp", true, 7, "image/webp"]]]),
  Option.some({ ready: "first", sha256: true, placeholder: placeholderOf, renditions: [["small", ["webp"]]] }),
  Option.some({ rejected: "refused", code: "corrupt_image", message: "truncated" }),
  ["first", placeholderOf, "ready"],
  ["first", placeholderOf, []]
]

describe("in-memory repository", () => {
  it.effect("follows the repository contract", () => {
    const memory = makeMemoryImages()
    return Effect.map(scenario, (trace) => expect(trace).toEqual(expected)).pipe(Effect.provide(memory.layer))
  })
  it.live("follows the duplicates contract", () => {
    const memory = makeMemoryImages()
    return Effect.map(duplicates, (trace) => expect(trace).toEqual(duplicatesExpected)).pipe(
      Effect.provide(memory.layer)
    )
  })
})

layer(ImageRepositorySql.pipe(Layer.provideMerge(TestDatabase)), { timeout: 60_000 })(
  `SQL repository on ${testDatabaseKind}`,
  (it) => {
    it.effect("follows the same contract", () => Effect.map(scenario, (trace) => expect(trace).toEqual(expected)))
    it.effect("follows the same duplicates contract", () =>
      Effect.map(duplicates, (trace) => expect(trace).toEqual(duplicatesExpected)))
  }
)
