import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices } from "@imgpipe/core/testing"
import { Effect, Option } from "effect"
import type { ImageId } from "../../src/domain/ids.js"
import { IMAGE_SIZES, renditionKey } from "../../src/domain/sizes.js"
import { getStatus } from "../../src/usecases/getStatus.js"
import { uploaded } from "./fixtures.js"

describe("getStatus", () => {
  it.effect("lists every configured size in size order, the ones with no row yet as none", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* memory.images.repository.recordRendition(
        id,
        "large",
        { key: renditionKey(id, "large"), width: 2048, height: 1536, bytes: 1000, contentType: "image/jpeg" },
        IMAGE_SIZES
      )
      const status = yield* getStatus(id)
      expect(status.image).toMatchObject({ id, status: "processing" })
      expect(status.renditions.map(({ rendition, size }) => [size, Option.map(rendition, (r) => r.status)])).toEqual([
        ["small", Option.none()],
        ["medium", Option.none()],
        ["large", Option.some("ready")]
      ])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("orders sizes by the configured boxes", () => {
    const memory = makeMemoryServices({ env: { IMGPIPE_SIZE_SMALL: "4000" } })
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      const status = yield* getStatus(id)
      expect(status.renditions.map((r) => r.size)).toEqual(["medium", "large", "small"])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("an unknown id is ImageNotFound", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const error = yield* Effect.flip(getStatus("0190f1a4-7a9b-7c3d-8e2f-000000000000" as ImageId))
      expect(error).toMatchObject({ _tag: "ImageNotFound", message: "No image has this id." })
    }).pipe(Effect.provide(memory.layer))
  })
})
