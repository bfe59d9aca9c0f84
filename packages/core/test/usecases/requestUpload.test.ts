import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices } from "@imgpipe/core/testing"
import { Effect, Option } from "effect"
import { requestUpload } from "../../src/usecases/requestUpload.js"

describe("requestUpload", () => {
  it.effect("creates the record awaiting its upload and hands out a PUT pinned to the type and length", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const ticket = yield* requestUpload({ contentType: "Image/PNG; charset=binary", contentLength: 1234 })
      expect(ticket.upload).toEqual({
        method: "PUT",
        url: `https://storage.test/raw/${ticket.imageId}?length=1234&signature=test`,
        headers: { "content-type": "image/png" },
        expiresAt: new Date(900_000)
      })
      expect(ticket.expiresAt).toEqual(new Date(900_000))
      const view = yield* memory.images.repository.find(ticket.imageId)
      const image = Option.getOrThrow(view).image
      expect(image).toMatchObject({
        status: "awaiting_upload",
        declaredContentType: "image/png",
        declaredBytes: 1234,
        uploadExpiresAt: new Date(900_000)
      })
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("refuses a bad declaration with typed errors and creates nothing", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const refused = (contentType: string, contentLength: number) =>
        Effect.flip(requestUpload({ contentType, contentLength })).pipe(Effect.map((e) => e._tag))
      expect(yield* refused(" ", 10)).toBe("InvalidRequest")
      expect(yield* refused("image/jpeg", -1)).toBe("InvalidRequest")
      expect(yield* refused("image/jpeg", 1.5)).toBe("InvalidRequest")
      expect(yield* refused("image/heic", 10)).toBe("UnsupportedMediaType")
      expect(yield* refused("application/pdf", 10)).toBe("UnsupportedMediaType")
      expect(yield* refused("image/jpeg", 26_214_401)).toBe("PayloadTooLarge")
      const svg = yield* Effect.flip(requestUpload({ contentType: "image/svg+xml", contentLength: 10 }))
      expect(svg.message).toMatch(/SVG/)
      expect(memory.images.all()).toEqual([])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("accepts exactly the limit, and the limit follows the setting", () => {
    const memory = makeMemoryServices({ env: { IMGPIPE_MAX_UPLOAD_BYTES: "100" } })
    return Effect.gen(function* () {
      yield* requestUpload({ contentType: "image/jpeg", contentLength: 100 })
      const over = yield* Effect.flip(requestUpload({ contentType: "image/jpeg", contentLength: 101 }))
      expect(over).toMatchObject({ _tag: "PayloadTooLarge", limit: 100 })
      expect(memory.images.all()).toHaveLength(1)
    }).pipe(Effect.provide(memory.layer))
  })
})
