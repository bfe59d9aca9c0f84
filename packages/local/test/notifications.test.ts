/**
 * Upload notifications in the embedded runner: the storage PUT answers once the object is stored,
 * and the notifier starts processing right after, in batches. Many uploads at once must each be
 * started exactly once (three jobs each, no more); a repeated notification re-sends only the
 * sizes not yet ready, as the contract says for duplicated S3 events.
 */
import { expect, layer } from "@effect/vitest"
import { ImageRepository, parseImageId, startProcessingMany } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect, Option } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, uploadBytes, waitUntilStarted } from "./support/client.js"

const SIZES = ["small", "medium", "large"] as const

const jobCounts = Effect.flatMap(
  LocalQueue,
  (queue) => Effect.forEach(SIZES, (size) => Effect.map(queue.depth(size), (depth) => depth.visible + depth.notVisible))
)

layer(makeTestApp(), { excludeTestServices: true, timeout: 120_000 })("upload notifications", (it) => {
  it.effect("30 uploads at once: each started once, three jobs each; a repeat re-sends the unfinished sizes", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const bytes = fixture("photo-246x345.tiff")
      const before = yield* jobCounts

      const tickets = yield* Effect.promise(() =>
        Promise.all(Array.from({ length: 30 }, () => uploadBytes(baseUrl, bytes, "image/tiff")))
      )
      const statuses = yield* Effect.promise(() =>
        Promise.all(tickets.map((t) => waitUntilStarted(baseUrl, t.image_id)))
      )
      expect(statuses.every((s) => s.status === "processing")).toBe(true)
      expect(statuses.every((s) => s.original?.bytes === bytes.byteLength)).toBe(true)

      const after = yield* jobCounts
      expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([30, 30, 30])

      // The same notifications again, as a duplicated delivery: no size is ready yet (no workers
      // here), so each image's three jobs are sent once more; processing them twice is idempotent.
      const outcomes = yield* startProcessingMany(tickets.map((t) => ({ key: t.image_id, bytes: bytes.byteLength })))
      expect(outcomes.every((o) => o._tag === "Started")).toBe(true)
      expect(yield* jobCounts).toEqual(after.map((n) => n + 30))
    }))

  it.effect("the resume sweep's start (resendUnfinished: false) gives an image already processing no second set of jobs", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const bytes = fixture("photo-246x345.tiff")
      const ticket = yield* Effect.promise(() => uploadBytes(baseUrl, bytes, "image/tiff"))
      yield* Effect.promise(() => waitUntilStarted(baseUrl, ticket.image_id))
      const before = yield* jobCounts
      const outcomes = yield* startProcessingMany([{ key: ticket.image_id, bytes: bytes.byteLength }], {
        resendUnfinished: false
      })
      expect(outcomes.map((o) => o._tag)).toEqual(["AlreadyHandled"])
      expect(yield* jobCounts).toEqual(before)
    }))

  it.effect("a batch mixing an unknown key, a foreign key and a new upload", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const repo = yield* ImageRepository
      const ticket = yield* Effect.promise(async () => {
        const res = await fetch(`${baseUrl}/upload`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content_type: "image/jpeg", content_length: 10 })
        })
        return (await res.json()) as { image_id: string }
      })
      const outcomes = yield* startProcessingMany([
        { key: "not-an-id", bytes: 1 },
        { key: "01900000-0000-7000-8000-000000000000", bytes: 1 },
        { key: ticket.image_id, bytes: 10 }
      ])
      expect(outcomes.map((o) => o._tag)).toEqual(["Ignored", "Ignored", "Started"])
      const view = yield* repo.find(Option.getOrThrow(parseImageId(ticket.image_id)))
      expect(Option.map(view, (v) => v.image.status)).toEqual(Option.some("processing"))
    }))
})
