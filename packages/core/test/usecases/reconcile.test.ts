import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Duration, Effect, Option, TestClock } from "effect"
import { QueueError } from "../../src/domain/errors.js"
import type { ImageId } from "../../src/domain/ids.js"
import { IMAGE_SIZES, type ImageSize, renditionKey } from "../../src/domain/sizes.js"
import { JobQueue } from "../../src/services/JobQueue.js"
import { reconcile } from "../../src/usecases/reconcile.js"
import { requested, stored, uploaded } from "./fixtures.js"

const nothing = { expired: 0, arrived: 0, resent: 0, failed: 0, backlogged: 0 }

/** Past the default stall window (900 s). */
const stallWindowPasses = TestClock.adjust(Duration.seconds(901))
/** Past an upload URL's lifetime (900 s) and the default expiry grace (86400 s). */
const expiryGracePasses = TestClock.adjust(Duration.seconds(900 + 86_400 + 1))

const imageOf = (memory: MemoryServices, id: ImageId) => memory.images.all().find((image) => image.id === id)

const recordSize = (memory: MemoryServices, id: ImageId, size: ImageSize) =>
  memory.images.repository.recordRendition(
    id,
    size,
    { key: renditionKey(id, size), width: 10, height: 10, bytes: 100, contentType: "image/jpeg" },
    IMAGE_SIZES
  )

/** Uploaded with `ready` sizes recorded, its jobs lost (taken off the queue by no worker). */
const stalledImage = (memory: MemoryServices, ready: ReadonlyArray<ImageSize>) =>
  Effect.gen(function* () {
    const id = yield* uploaded(memory)
    for (const size of ready) yield* recordSize(memory, id, size)
    memory.queue.take()
    return id
  })

describe("reconcile", () => {
  it.effect("expires an upload that never arrived, once its URL expired more than the grace ago", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* requested()
      yield* TestClock.adjust(Duration.seconds(900 + 86_400))
      expect(yield* reconcile).toEqual(nothing)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* reconcile).toEqual({ ...nothing, expired: 1 })
      expect(imageOf(memory, id)?.status).toBe("expired")
      expect(yield* reconcile).toEqual(nothing)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("starts instead of expiring an upload stored after all (its notification was lost)", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* requested()
      yield* stored(memory, id)
      yield* expiryGracePasses
      expect(yield* reconcile).toEqual({ ...nothing, arrived: 1 })
      expect(imageOf(memory, id)?.status).toBe("processing")
      expect(memory.queue.pendingKeys()).toEqual([`${id}/large`, `${id}/medium`, `${id}/small`])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("re-sends a stalled image's missing sizes once, then fails it when it stalls again", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* stalledImage(memory, ["small"])
      yield* TestClock.adjust(Duration.seconds(899))
      expect(yield* reconcile).toEqual(nothing)
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* reconcile).toEqual({ ...nothing, resent: 1 })
      expect(memory.queue.take().map((job) => job.size)).toEqual(["medium", "large"])
      expect(memory.images.stallResends(id)).toBe(1)
      // The clock restarted: not stalled again yet.
      expect(yield* reconcile).toEqual(nothing)

      yield* stallWindowPasses
      expect(yield* reconcile).toEqual({ ...nothing, failed: 1 })
      expect(memory.queue.take()).toEqual([])
      const image = imageOf(memory, id)
      expect(image).toMatchObject({ status: "failed", errorCode: "processing_failed" })
      expect(image?.errorMessage).toBe(
        "Processing stalled twice: no progress for 900 s, then again after its missing sizes (medium, large) were sent once more."
      )
      const { renditions } = Option.getOrThrow(yield* memory.images.repository.find(id))
      expect(renditions.map((r) => [r.size, r.status])).toEqual([["small", "ready"], ["medium", "failed"], [
        "large",
        "failed"
      ]])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a size recorded within the window is progress: no stall", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* stalledImage(memory, [])
      yield* TestClock.adjust(Duration.seconds(600))
      yield* recordSize(memory, id, "small")
      yield* TestClock.adjust(Duration.seconds(600))
      expect(yield* reconcile).toEqual(nothing)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("leaves a backlogged image alone (its jobs are still queued) and restarts its clock", () => {
    const memory = makeMemoryServices({ canTellLiveJobs: true })
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* stallWindowPasses
      expect(yield* reconcile).toEqual({ ...nothing, backlogged: 1 })
      expect(memory.images.stallResends(id)).toBe(0)
      expect(memory.queue.sent).toHaveLength(3)
      expect(yield* reconcile).toEqual(nothing)
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("with a queue that cannot tell (SQS), decides by time alone", () => {
    const memory = makeMemoryServices({ canTellLiveJobs: false })
    return Effect.gen(function* () {
      yield* uploaded(memory)
      yield* stallWindowPasses
      expect(yield* reconcile).toEqual({ ...nothing, resent: 1 })
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a failed send rolls the claim back: the resend is not counted and the next run tries again", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* stalledImage(memory, [])
      yield* stallWindowPasses
      const failure = yield* reconcile.pipe(
        Effect.provideService(JobQueue, {
          ...memory.queue.service,
          send: () => Effect.fail(new QueueError({ operation: "send", message: "queue down" }))
        }),
        Effect.flip
      )
      expect(failure._tag).toBe("QueueError")
      expect(memory.images.stallResends(id)).toBe(0)
      expect(yield* reconcile).toEqual({ ...nothing, resent: 1 })
      expect(memory.images.stallResends(id)).toBe(1)
    }).pipe(Effect.provide(memory.layer))
  })
})
