import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices, memoryChangeFeedLayer } from "@imgpipe/core/testing"
import { Chunk, Duration, Effect, Exit, Fiber, Layer, Stream } from "effect"
import { ImageId } from "../../src/domain/ids.js"
import { IMAGE_SIZES, renditionKey } from "../../src/domain/sizes.js"
import { ChangeFeed } from "../../src/services/ChangeFeed.js"
import { watchStatus } from "../../src/usecases/watchStatus.js"
import { uploaded } from "./fixtures.js"

const INTERVAL = Duration.millis(5)

/** The in-memory services and a change feed over their repository. */
const setup = () => {
  const memory = makeMemoryServices()
  const layer = Layer.provideMerge(memoryChangeFeedLayer({ interval: INTERVAL }), memory.layer)
  return { memory, layer }
}

const output = (id: ImageId, size: (typeof IMAGE_SIZES)[number]) => ({
  key: renditionKey(id, size),
  width: 100,
  height: 100,
  bytes: 1000,
  contentType: "image/jpeg"
})

describe("watchStatus", () => {
  it.live("the status now, then each different one, ending after ready; the subscription ends with the scope", () => {
    const { layer, memory } = setup()
    return Effect.gen(function* () {
      const repo = memory.images.repository
      const feed = yield* ChangeFeed
      const id = yield* uploaded(memory)
      const statuses = yield* Effect.scoped(
        Effect.gen(function* () {
          const { changes, current } = yield* watchStatus(id)
          expect(current.status).toBe("processing")
          const collected = yield* Effect.fork(Stream.runCollect(changes))
          expect((yield* feed.stats).subscribers).toBe(1)
          for (const size of IMAGE_SIZES) {
            yield* Effect.sleep(INTERVAL.pipe(Duration.times(4)))
            // A repeated write changes nothing: no event for it.
            yield* repo.recordRendition(id, size, output(id, size), IMAGE_SIZES)
            yield* repo.recordRendition(id, size, output(id, size), IMAGE_SIZES)
          }
          return Chunk.toReadonlyArray(yield* Fiber.join(collected))
        })
      )
      expect(statuses.map((s) => [s.status, Object.values(s.renditions).filter((r) => r.status === "ready").length]))
        .toEqual([["processing", 1], ["processing", 2], ["ready", 3]])
      expect(yield* feed.stats).toMatchObject({ subscribers: 0, watched: 0 })
    }).pipe(Effect.provide(layer))
  })

  it.live("a final status: no subscription, no changes", () => {
    const { layer, memory } = setup()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* memory.images.repository.markRejected(id, { code: "not_an_image", message: "no" })
      const { changes, current } = yield* watchStatus(id)
      expect(current.status).toBe("failed")
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(changes))).toEqual([])
      expect((yield* (yield* ChangeFeed).stats).subscribers).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.live("an unknown id fails with ImageNotFound before subscribing", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const exit = yield* Effect.exit(watchStatus(ImageId.make("0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10")))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("ImageNotFound")
      expect((yield* (yield* ChangeFeed).stats).subscribers).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(layer))
  })
})
