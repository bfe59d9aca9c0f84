/**
 * Queue semantics through the embedded runner's own layers: a job whose worker dies comes back
 * after the visibility timeout; a job failing transiently 3 times lands in the dead-letter table
 * and the image says why; redriving it finishes the image.
 */
import { expect, layer } from "@effect/vitest"
import { processImage, startProcessing } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect, Schedule } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import {
  fixture,
  getImage,
  getStatus,
  type ImageStatus,
  requestUpload,
  uploadAndStart,
  type UploadTicket
} from "./support/client.js"

const SIZES = ["small", "medium", "large"] as const

const waitFor = (baseUrl: string, imageId: string, done: (s: ImageStatus) => boolean, timeoutMs = 60_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await getStatus(baseUrl, imageId)
      if (done(status)) return status
      if (Date.now() > deadline) throw new Error(`timed out; last status ${JSON.stringify(status)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  })

layer(makeTestApp(), { excludeTestServices: true, timeout: 120_000 })("a worker that dies", (it) => {
  it.effect("its job reappears after the visibility timeout and then completes", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const queue = yield* LocalQueue
      const ticket = yield* Effect.promise(() => uploadAndStart(baseUrl, fixture("photo-246x345.tiff"), "image/tiff"))
      // A worker takes the small job (4 s visibility) and dies without deleting it.
      const [taken] = yield* queue.receive("small", { max: 1, visibilityTimeoutSeconds: 4, maxReceives: 3 })
      expect(taken?.body.image_id).toBe(ticket.image_id)
      expect(taken?.receiveCount).toBe(1)
      // Invisible meanwhile: another worker finds nothing.
      expect(yield* queue.receive("small", { max: 1, visibilityTimeoutSeconds: 4, maxReceives: 3 })).toEqual([])
      yield* Effect.sleep("4200 millis")
      const [again] = yield* queue.receive("small", { max: 1, visibilityTimeoutSeconds: 30, maxReceives: 3 })
      expect(again?.id).toBe(taken?.id)
      expect(again?.receiveCount).toBe(2)
      for (const size of SIZES) {
        const [job] = size === "small"
          ? [again!]
          : yield* queue.receive(size, { max: 1, visibilityTimeoutSeconds: 30, maxReceives: 3 })
        yield* processImage({ job: job!.body, receiveCount: job!.receiveCount, maxReceives: 3 })
        yield* queue.delete(job!.id)
      }
      expect((yield* Effect.promise(() => getStatus(baseUrl, ticket.image_id))).status).toBe("ready")
    }))
})

layer(
  makeTestApp({
    workers: true,
    env: { IMGPIPE_RETRY_DELAY_SECONDS: "0", IMGPIPE_VISIBILITY_TIMEOUT_SECONDS: "5", IMGPIPE_IDLE_POLL_MS: "50" }
  }),
  { excludeTestServices: true, timeout: 120_000 }
)("transient failures and the dead-letter table", (it) => {
  it.effect("3 failed receives → dead-lettered, the image says why; redrive finishes it", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const queue = yield* LocalQueue
      const bytes = fixture("photo-1024x772.webp")
      const ticket = (yield* Effect.promise(async () =>
        (await requestUpload(baseUrl, { content_type: "image/webp", content_length: bytes.byteLength })).json()
      )) as UploadTicket

      // The notification arrives but the object cannot be read (here: it is not there): a
      // transient failure every time, as a storage outage would be.
      yield* startProcessing({ key: ticket.image_id, bytes: bytes.byteLength })
      const failed = yield* waitFor(baseUrl, ticket.image_id, (s) =>
        SIZES.every((size) =>
          s.renditions[size].status === "failed"
        ))
      expect(failed.status).toBe("failed")
      expect(failed.error?.code).toBe("processing_failed")
      expect(failed.error?.message).toMatch(/after 3 attempts/)
      expect(failed.error?.message).toMatch(/missing/)
      // The last failed delivery records the failure first; the move to the dead-letter table
      // happens when the job next becomes visible (the worker's next poll), so wait for all three.
      const deadLettered = queue.listDeadLetters().pipe(
        Effect.map((dead) =>
          dead.filter((d) =>
            d.body._tag === "Some" && d.body.value.image_id === ticket.image_id
          )
        )
      )
      const mine = yield* deadLettered.pipe(
        Effect.filterOrFail((jobs) => jobs.length >= 3),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds"))),
        Effect.orElse(() => deadLettered)
      )
      expect(mine.map((d) => d.size).sort()).toEqual(["large", "medium", "small"])
      expect(mine.every((d) => d.receiveCount === 3)).toBe(true)
      expect(mine.every((d) => (d.lastError ?? "").includes("missing"))).toBe(true)
      for (const size of SIZES) {
        expect((yield* queue.depth(size)).visible + (yield* queue.depth(size)).notVisible).toBe(0)
      }

      // Not a rejection (no 422): get_image still falls back to the original the record knows of.
      const fallback = yield* Effect.promise(() => getImage(baseUrl, ticket.image_id, "small"))
      expect(fallback.status).toBe(302)
      expect(fallback.headers.get("x-image-size")).toBe("original")

      // The outage ends (the object is stored), the dead letters are redriven: the image finishes.
      const put = yield* Effect.promise(() =>
        fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes })
      )
      expect(put.status).toBe(200)
      for (const size of SIZES) expect(yield* queue.redrive(size)).toBeGreaterThanOrEqual(1)
      const ready = yield* waitFor(baseUrl, ticket.image_id, (s) => s.status === "ready")
      expect(ready.error).toBeUndefined()
      expect((yield* Effect.promise(() => getImage(baseUrl, ticket.image_id, "medium"))).headers.get("x-image-size"))
        .toBe("medium")
    }))
})
