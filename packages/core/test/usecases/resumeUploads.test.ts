import { describe, expect, it } from "@effect/vitest"
import { fakeImage, makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Effect } from "effect"
import type { ImageId } from "../../src/domain/ids.js"
import { rawKey } from "../../src/domain/sizes.js"
import { findStoredUploads, resumeUploads } from "../../src/usecases/resumeUploads.js"
import { startProcessing } from "../../src/usecases/startProcessing.js"
import { requested, stored } from "./fixtures.js"

const statusOf = (memory: MemoryServices, id: ImageId) => memory.images.all().find((image) => image.id === id)?.status

describe("resumeUploads", () => {
  it.effect("starts stored uploads whose notification was never handled, and only those", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const lost = yield* requested()
      yield* stored(memory, lost)
      const notYet = yield* requested()
      const handled = yield* requested()
      yield* stored(memory, handled)
      yield* startProcessing({ key: rawKey(handled), bytes: 10 })
      memory.queue.take()

      const bytes = fakeImage({ width: 4000, height: 3000 }).byteLength
      expect(yield* findStoredUploads()).toEqual([{ key: rawKey(lost), bytes }])
      expect(yield* resumeUploads()).toBe(1)
      expect([statusOf(memory, lost), statusOf(memory, notYet), statusOf(memory, handled)]).toEqual([
        "processing",
        "awaiting_upload",
        "processing"
      ])
      expect(memory.queue.pendingKeys()).toEqual([`${lost}/large`, `${lost}/medium`, `${lost}/small`])

      // Nothing left: a second sweep finds nothing and sends nothing.
      memory.queue.take()
      expect(yield* resumeUploads()).toBe(0)
      expect(memory.queue.take()).toEqual([])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("looks at no more than `limit` waiting images, oldest first", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const first = yield* requested()
      yield* stored(memory, first)
      const second = yield* requested()
      yield* stored(memory, second)
      expect((yield* findStoredUploads(1)).map((found) => found.key)).toEqual([rawKey(first)])
    }).pipe(Effect.provide(memory.layer))
  })
})
