/**
 * The admin use cases on in-memory services. The admin repository is a recording double (its SQL
 * implementation is tested over HTTP on both databases in packages/local/test/admin.test.ts): these
 * tests pin the decisions the use cases make themselves (page size, cursor, which sizes, refusals).
 */
import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices } from "@imgpipe/core/testing"
import { Effect, Either, Layer, Option } from "effect"
import { ImageId } from "../../src/domain/ids.js"
import type { ImageView } from "../../src/domain/image.js"
import { IMAGE_SIZES, type ImageSize, renditionKey } from "../../src/domain/sizes.js"
import { AdminRepository, type ImageListQuery } from "../../src/services/AdminRepository.js"
import { decodeCursor, encodeCursor, listImages, reprocessImage } from "../../src/usecases/admin.js"
import { requested, uploaded } from "./fixtures.js"

const ids = Array.from({ length: 5 }, (_, i) => ImageId.make(`0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e1${i}`))

/** An admin repository that records its calls; `rows` answers the listing, `reopen` the reprocess. */
const makeAdminDouble = (options: {
  readonly rows?: (query: ImageListQuery) => ReadonlyArray<ImageView>
  readonly reopen?: (id: ImageId) => Effect.Effect<Option.Option<ImageView>>
} = {}) => {
  const queries: Array<ImageListQuery> = []
  const reopened: Array<{ readonly id: ImageId; readonly sizes: ReadonlyArray<ImageSize> }> = []
  const layer = Layer.succeed(
    AdminRepository,
    AdminRepository.of({
      listImages: (query) =>
        Effect.sync(() => {
          queries.push(query)
          return options.rows?.(query) ?? []
        }),
      reopenForReprocess: (id, sizes) =>
        Effect.suspend(() => {
          reopened.push({ id, sizes })
          return options.reopen?.(id) ?? Effect.succeed(Option.none())
        })
    })
  )
  return { layer, queries, reopened }
}

const viewOf = (id: ImageId) => ({ image: { id } }) as unknown as ImageView

describe("admin: listImages", () => {
  it.effect("asks for one more than the page; a next cursor only when that one exists", () => {
    const admin = makeAdminDouble({ rows: (q) => ids.slice(0, q.limit).map(viewOf) })
    return Effect.gen(function* () {
      const first = yield* listImages({ status: "failed", limit: 3 })
      expect(admin.queries[0]).toEqual({ status: "failed", olderThanSeconds: undefined, after: undefined, limit: 4 })
      expect(first.images.map((v) => v.image.id)).toEqual(ids.slice(0, 3))
      expect(first.nextCursor).toBe(encodeCursor(ids[2]!))

      const last = yield* listImages({ limit: 5 })
      expect(last.images).toHaveLength(5)
      expect(last.nextCursor).toBeNull()
    }).pipe(Effect.provide(admin.layer))
  })

  it.effect("passes the cursor on as the id to start after; clamps the page size to 1..500, default 50", () => {
    const admin = makeAdminDouble()
    return Effect.gen(function* () {
      yield* listImages({ cursor: encodeCursor(ids[1]!), olderThanSeconds: 60 })
      yield* listImages({ limit: 0 })
      yield* listImages({ limit: 10_000 })
      expect(admin.queries).toEqual([
        { status: undefined, olderThanSeconds: 60, after: ids[1], limit: 51 },
        { status: undefined, olderThanSeconds: undefined, after: undefined, limit: 2 },
        { status: undefined, olderThanSeconds: undefined, after: undefined, limit: 501 }
      ])
    }).pipe(Effect.provide(admin.layer))
  })

  it.effect("a cursor it did not hand out is InvalidCursor", () =>
    Effect.gen(function* () {
      for (const cursor of ["", "nonsense", Buffer.from("after:not-a-uuid").toString("base64url"), ids[0]!]) {
        const result = yield* Effect.either(decodeCursor(cursor))
        expect(Either.isLeft(result) && result.left._tag, cursor).toBe("InvalidCursor")
      }
      expect(yield* decodeCursor(encodeCursor(ids[0]!))).toBe(ids[0])
    }))
})

describe("admin: reprocessImage", () => {
  const ready = (memory: ReturnType<typeof makeMemoryServices>, id: ImageId, size: ImageSize) =>
    memory.images.repository.recordRendition(
      id,
      size,
      { key: renditionKey(id, size), width: 100, height: 80, bytes: 1000, contentType: "image/jpeg" },
      IMAGE_SIZES
    )

  /** Memory services plus an admin double whose reopen returns the image as the memory has it. */
  const setup = () => {
    const memory = makeMemoryServices()
    const admin = makeAdminDouble({
      reopen: (id) => Effect.orDie(memory.images.repository.find(id))
    })
    return { memory, admin, layer: Layer.merge(memory.layer, admin.layer) }
  }

  it.effect("a failed image (processing_failed): the sizes not ready, one job each, as startProcessing sends them", () => {
    const { admin, layer, memory } = setup()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      memory.queue.sent.length = 0
      yield* ready(memory, id, "small")
      yield* memory.images.repository.markRenditionFailed(id, "large", { code: "processing_failed", message: "x" })
      yield* reprocessImage(id)
      expect(admin.reopened).toEqual([{ id, sizes: ["medium", "large"] }])
      expect(memory.queue.sent).toEqual([
        { image_id: id, raw_key: id, size: "medium" },
        { image_id: id, raw_key: id, size: "large" }
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("given sizes in size order once each; a ready image without sizes is made again whole", () => {
    const { admin, layer, memory } = setup()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      for (const size of IMAGE_SIZES) yield* ready(memory, id, size)
      yield* reprocessImage(id, ["large", "small", "large"])
      yield* reprocessImage(id)
      expect(admin.reopened).toEqual([{ id, sizes: ["small", "large"] }, { id, sizes: ["small", "medium", "large"] }])
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses without a stored original or for refused content, and sends nothing", () => {
    const { admin, layer, memory } = setup()
    return Effect.gen(function* () {
      const waiting = yield* requested()
      const refused = yield* uploaded(memory)
      yield* memory.images.repository.markRejected(refused, { code: "not_an_image", message: "Not an image." })
      const removed = yield* uploaded(memory)
      for (const size of IMAGE_SIZES) yield* ready(memory, removed, size)
      yield* memory.images.repository.markOriginalRemoved(removed)
      memory.queue.sent.length = 0
      for (const id of [waiting, refused, removed]) {
        const result = yield* Effect.either(reprocessImage(id))
        expect(Either.isLeft(result) && result.left._tag, id).toBe("ReprocessRefused")
      }
      const unknown = yield* Effect.either(reprocessImage(ids[0]!))
      expect(Either.isLeft(unknown) && unknown.left._tag).toBe("ImageNotFound")
      expect(admin.reopened).toEqual([])
      expect(memory.queue.sent).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an image that changed before the reopen (no longer qualifies) is refused, nothing sent", () => {
    const memory = makeMemoryServices()
    const admin = makeAdminDouble({ reopen: () => Effect.succeed(Option.none()) })
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      memory.queue.sent.length = 0
      const result = yield* Effect.either(reprocessImage(id))
      expect(Either.isLeft(result) && result.left._tag).toBe("ReprocessRefused")
      expect(memory.queue.sent).toEqual([])
    }).pipe(Effect.provide(Layer.merge(memory.layer, admin.layer)))
  })
})
