import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Effect, Option } from "effect"
import { QueueError } from "../../src/domain/errors.js"
import type { ImageId } from "../../src/domain/ids.js"
import type { ProcessJob } from "../../src/domain/image.js"
import { rawKey, renditionKey } from "../../src/domain/sizes.js"
import { JobQueue } from "../../src/services/JobQueue.js"
import { StartOutcome, startProcessing, startProcessingMany } from "../../src/usecases/startProcessing.js"
import { requested } from "./fixtures.js"

const statusOf = (memory: MemoryServices, id: ImageId) => memory.images.all().find((image) => image.id === id)?.status

const jobsOf = (id: ImageId, sizes: ReadonlyArray<ProcessJob["size"]>) =>
  sizes.map((size): ProcessJob => ({ image_id: id, raw_key: rawKey(id), size }))

/** The memory queue, counting its `send` calls. */
const countingSends = (memory: MemoryServices) => {
  const calls: Array<number> = []
  const service = JobQueue.of({
    ...memory.queue.service,
    send: (jobs) => Effect.zipRight(Effect.sync(() => calls.push(jobs.length)), memory.queue.service.send(jobs))
  })
  return { calls, provide: Effect.provideService(JobQueue, service) }
}

describe("startProcessing", () => {
  it.effect("one notification: the image is processing with its size, one job per size", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* requested()
      const outcome = yield* startProcessing({ key: rawKey(id), bytes: 4321 })
      expect(outcome).toEqual(StartOutcome.Started({ sizes: ["small", "medium", "large"] }))
      const image = Option.getOrThrow(yield* memory.images.repository.find(id)).image
      expect(image).toMatchObject({ status: "processing", originalBytes: 4321, originalStored: true })
      expect(memory.queue.sent).toEqual(jobsOf(id, ["small", "medium", "large"]))
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a batch: outcomes in event order, bad keys and unknown ids ignored, one send for all", () => {
    const memory = makeMemoryServices()
    const sends = countingSends(memory)
    return Effect.gen(function* () {
      const a = yield* requested()
      const b = yield* requested()
      const outcomes = yield* startProcessingMany([
        { key: "not-an-id", bytes: 1 },
        { key: rawKey(a), bytes: 10 },
        { key: "0190f1a4-7a9b-7c3d-8e2f-000000000000", bytes: 1 },
        { key: rawKey(b).toUpperCase(), bytes: 20 }
      ]).pipe(sends.provide)
      expect(outcomes).toEqual([
        StartOutcome.Ignored({ reason: "key is not an image id" }),
        StartOutcome.Started({ sizes: ["small", "medium", "large"] }),
        StartOutcome.Ignored({ reason: "no such image" }),
        StartOutcome.Started({ sizes: ["small", "medium", "large"] })
      ])
      expect([statusOf(memory, a), statusOf(memory, b)]).toEqual(["processing", "processing"])
      expect(sends.calls).toEqual([6])
      // The job carries the key as the event named it.
      expect(memory.queue.sent).toEqual([
        ...jobsOf(a, ["small", "medium", "large"]),
        ...jobsOf(b, ["small", "medium", "large"]).map((job) => ({ ...job, raw_key: rawKey(b).toUpperCase() }))
      ])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("an empty batch sends an empty batch of jobs", () => {
    const memory = makeMemoryServices()
    const sends = countingSends(memory)
    return Effect.gen(function* () {
      expect(yield* startProcessingMany([]).pipe(sends.provide)).toEqual([])
      expect(sends.calls).toEqual([0])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a duplicated notification re-sends only the sizes not ready yet; a finished image is left alone", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* requested()
      yield* startProcessing({ key: rawKey(id), bytes: 100 })
      memory.queue.take()
      yield* memory.images.repository.recordRendition(
        id,
        "small",
        { key: renditionKey(id, "small"), width: 320, height: 240, bytes: 10, contentType: "image/jpeg" },
        ["small", "medium", "large"]
      )
      const again = yield* startProcessing({ key: rawKey(id), bytes: 100 })
      expect(again).toEqual(StartOutcome.Started({ sizes: ["medium", "large"] }))
      expect(memory.queue.take()).toEqual(jobsOf(id, ["medium", "large"]))

      // The resume sweep's mode: an image already processing gets no second set of jobs.
      const swept = yield* startProcessingMany([{ key: rawKey(id), bytes: 100 }], { resendUnfinished: false })
      expect(swept).toEqual([StartOutcome.AlreadyHandled()])
      expect(memory.queue.take()).toEqual([])

      yield* memory.images.repository.markRejected(id, { code: "not_an_image", message: "no" })
      expect(yield* startProcessing({ key: rawKey(id), bytes: 100 })).toEqual(StartOutcome.AlreadyHandled())
      expect(memory.queue.take()).toEqual([])
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("a failed send fails the use case (the event is retried)", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* requested()
      const failed = yield* startProcessing({ key: rawKey(id), bytes: 100 }).pipe(
        Effect.provideService(JobQueue, {
          ...memory.queue.service,
          send: () => Effect.fail(new QueueError({ operation: "send", message: "down" }))
        }),
        Effect.flip
      )
      expect(failed._tag).toBe("QueueError")
    }).pipe(Effect.provide(memory.layer))
  })
})
