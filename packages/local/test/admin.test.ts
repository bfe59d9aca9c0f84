/**
 * The admin API over HTTP on the embedded runner's layers (the real tables: images, jobs,
 * dead_jobs, on PGlite or PostgreSQL), with no workers: the test runs each job itself, so every
 * state is reached for sure. Also its policy: keys (401 / 403), off on a non-loopback HOST without
 * keys, open on loopback without keys.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ImageId, ImageRepository, processImage } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { WebhookDeliveries } from "@imgpipe/core/services/WebhookDeliveries"
import { Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { contentTypeOf, fixture, getStatus, requestUpload, uploadAndStart, uploadBytes } from "./support/client.js"

type Size = "small" | "medium" | "large"

interface StatusJson {
  readonly image_id: string
  readonly status: string
  readonly renditions: Record<Size, { readonly status: string }>
  readonly error?: { readonly code: string }
}
interface QueueJson {
  readonly name: string
  readonly dead_letter: boolean
  readonly depth: number
  readonly in_flight: number
  readonly oldest_age_seconds: number | null
}
/** Every body the admin API answers with, loosely: each test reads the fields its endpoint sends. */
interface Body extends Partial<Omit<StatusJson, "error">> {
  readonly images: ReadonlyArray<StatusJson>
  readonly next_cursor: string | null
  readonly queues: ReadonlyArray<QueueJson>
  readonly error: unknown
}
interface Answer {
  readonly status: number
  readonly json: Body
}

const call = (path: string, init: RequestInit = {}) =>
  Effect.gen(function* () {
    const { baseUrl } = yield* TestServer
    return yield* Effect.promise(async (): Promise<Answer> => {
      const res = await fetch(`${baseUrl}${path}`, init)
      const text = await res.text()
      return { status: res.status, json: (text.length === 0 ? {} : JSON.parse(text)) as Body }
    })
  })

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

const PHOTO = "photo-1280x1024-grass-progressive.jpg"

const upload = Effect.gen(function* () {
  const { baseUrl } = yield* TestServer
  return (yield* Effect.promise(() => uploadAndStart(baseUrl, fixture(PHOTO), contentTypeOf(PHOTO)))).image_id
})

/** Receives and runs the pending jobs of one size, as a worker would; returns how many ran. */
const runJobs = (size: Size) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    const jobs = yield* queue.receive(size, { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 3 })
    for (const job of jobs) {
      yield* processImage({ job: job.body, receiveCount: job.receiveCount, maxReceives: 3 })
      yield* queue.delete(job.id)
    }
    return jobs.length
  })

/** Drops the pending jobs of one size (a job lost, as if its message had been dead-lettered). */
const dropJobs = (size: Size) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    const jobs = yield* queue.receive(size, { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 3 })
    for (const job of jobs) yield* queue.delete(job.id)
  })

const statusOf = (id: string) =>
  Effect.gen(function* () {
    const { baseUrl } = yield* TestServer
    return yield* Effect.promise(() => getStatus(baseUrl, id))
  })

const queueByName = (answer: Answer, name: string) => answer.json.queues.find((queue) => queue.name === name)

describe("admin API on the embedded runner", () => {
  // Webhooks on (to a receiver nobody runs: no poller here), for the webhook queue's rows.
  const webhooksEnv = { IMGPIPE_WEBHOOK_SECRET: "whsec-test", IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "true" }
  layer(makeTestApp({ env: webhooksEnv }), { excludeTestServices: true, timeout: 120_000 })(
    "open on loopback without keys",
    (it) => {
      it.effect("answers without a key on loopback", () =>
        Effect.gen(function* () {
          const answer = yield* call("/admin/queues")
          expect(answer.status).toBe(200)
        }))

      it.effect("lists by status a page at a time: the cursor walks every image once, oldest first", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const created: Array<string> = []
          for (let i = 0; i < 7; i++) {
            const res = yield* Effect.promise(() =>
              requestUpload(baseUrl, { content_type: "image/png", content_length: 10 })
            )
            created.push(((yield* Effect.promise(() => res.json())) as { image_id: string }).image_id)
          }
          const seen: Array<string> = []
          let cursor: string | null = null
          let pages = 0
          do {
            const query: string = `status=awaiting_upload&limit=3${cursor === null ? "" : `&cursor=${cursor}`}`
            const page = yield* call(`/admin/images?${query}`)
            expect(page.status).toBe(200)
            expect(page.json.images.length).toBeLessThanOrEqual(3)
            for (const image of page.json.images) {
              expect(image.status).toBe("awaiting_upload")
              expect(image.renditions.small.status).toBe("pending")
              seen.push(image.image_id)
            }
            cursor = page.json.next_cursor
            pages++
          } while (cursor !== null && pages < 10)
          expect(cursor).toBeNull()
          // Other tests of this file add images too: these seven are all there, once, in order.
          expect(new Set(seen).size).toBe(seen.length)
          expect(seen.filter((id) => created.includes(id))).toEqual(created)
          expect(pages).toBeGreaterThanOrEqual(3)

          // A status none of them has, and an age none of them reaches.
          const ready = yield* call("/admin/images?status=ready&limit=500")
          expect(ready.json.images.map((i) => i.image_id)).not.toContain(created[0])
          const old = yield* call("/admin/images?status=awaiting_upload&older_than_seconds=3600")
          expect(old.json).toEqual({ images: [], next_cursor: null })
        }))

      it.effect("refuses a bad cursor, limit or status with 400 bad_request", () =>
        Effect.gen(function* () {
          for (
            const query of [
              "cursor=nonsense",
              "limit=0",
              "limit=501",
              "limit=ten",
              "status=done",
              "older_than_seconds=-1"
            ]
          ) {
            const answer = yield* call(`/admin/images?${query}`)
            expect(answer.status, query).toBe(400)
            expect(answer.json).toEqual({ error: "bad_request", message: expect.any(String) })
          }
        }))

      it.effect("queue statistics: depth, in flight and oldest age per size queue, then the dead letters", () =>
        Effect.gen(function* () {
          const queue = yield* LocalQueue
          const id = yield* upload
          const before = yield* call("/admin/queues")
          expect(before.status).toBe(200)
          expect(before.json.queues.map((q) => q.name)).toEqual([
            "small",
            "medium",
            "large",
            "dead_letter",
            "webhooks",
            "webhooks_dead_letter"
          ])
          expect(queueByName(before, "webhooks")).toMatchObject({ dead_letter: false, depth: 0 })
          expect(queueByName(before, "webhooks_dead_letter")).toMatchObject({ dead_letter: true, depth: 0 })
          for (const size of ["small", "medium", "large"]) {
            const stats = queueByName(before, size)!
            expect(stats.depth).toBeGreaterThanOrEqual(1)
            expect(stats.dead_letter).toBe(false)
            expect(stats.oldest_age_seconds).toBeGreaterThanOrEqual(0)
          }

          // One large job received: in flight.
          const received = yield* queue.receive("large", { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 3 })
          expect(received.map((job) => job.body.image_id)).toContain(id)
          const during = yield* call("/admin/queues")
          expect(queueByName(during, "large")).toMatchObject({ depth: 0, in_flight: received.length })

          // Its receives used up: the next receive dead-letters it.
          for (const job of received) yield* queue.changeVisibility(job.id, { delaySeconds: 0 })
          yield* queue.receive("large", { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 1 })
          const dead = yield* call("/admin/queues")
          expect(queueByName(dead, "large")).toMatchObject({ depth: 0, in_flight: 0 })
          expect(queueByName(dead, "dead_letter")).toMatchObject({ dead_letter: true, depth: received.length })

          // Redrive: the dead jobs go back to their queue, receive count reset.
          const redrive = yield* call("/admin/dlq/redrive", { method: "POST" })
          expect(redrive.status).toBe(202)
          expect(redrive.json).toEqual({
            redrives: [
              { queue: "dead_letter", messages: received.length, task_handle: null },
              { queue: "webhooks_dead_letter", messages: 0, task_handle: null }
            ]
          })
          const after = yield* call("/admin/queues")
          expect(queueByName(after, "dead_letter")).toMatchObject({ depth: 0 })
          expect(queueByName(after, "large")).toMatchObject({ depth: received.length })
          const again = yield* queue.receive("large", { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 1 })
          expect(again.map((job) => job.receiveCount)).toEqual(received.map(() => 1))

          // The redriven job still makes its size.
          for (const job of again) {
            yield* processImage({ job: job.body, receiveCount: job.receiveCount, maxReceives: 3 })
            yield* queue.delete(job.id)
          }
          yield* runJobs("small")
          yield* runJobs("medium")
          expect((yield* statusOf(id)).status).toBe("ready")
        }))

      it.effect("the webhook deliveries are the webhooks queue; given-up ones its dead letters, redriven", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const deliveries = yield* WebhookDeliveries
          const junk = new TextEncoder().encode("not an image, so it fails at once")
          const ticket = yield* Effect.promise(async () => {
            const res = await fetch(`${baseUrl}/upload`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                content_type: "image/png",
                content_length: junk.byteLength,
                callback_url: "http://127.0.0.1:9/hook"
              })
            })
            const body = (await res.json()) as {
              image_id: string
              upload: { url: string; headers: Record<string, string> }
            }
            if (res.status !== 201) throw new Error(JSON.stringify(body))
            await fetch(body.upload.url, { method: "PUT", headers: body.upload.headers, body: junk })
            for (let i = 0; i < 200 && (await getStatus(baseUrl, body.image_id)).status === "awaiting_upload"; i++) {
              await new Promise((r) => setTimeout(r, 10))
            }
            return body
          })
          for (const size of ["small", "medium", "large"] as const) yield* runJobs(size)
          expect((yield* statusOf(ticket.image_id)).status).toBe("failed")

          const open = yield* call("/admin/queues")
          expect(queueByName(open, "webhooks")).toMatchObject({ depth: 1, dead_letter: false })
          // Its retries used up: given up.
          const [eventId] = yield* deliveries.listDue(10)
          yield* deliveries.recordFailure(eventId!, {
            error: "connection refused",
            retrySeconds: 10,
            giveUpAfterSeconds: 0
          })
          const dead = yield* call("/admin/queues")
          expect(queueByName(dead, "webhooks")).toMatchObject({ depth: 0 })
          expect(queueByName(dead, "webhooks_dead_letter")).toMatchObject({ depth: 1, dead_letter: true })

          const redrive = yield* call("/admin/dlq/redrive", { method: "POST" })
          expect(redrive.json).toMatchObject({
            redrives: [{ queue: "dead_letter" }, { queue: "webhooks_dead_letter", messages: 1, task_handle: null }]
          })
          const after = yield* call("/admin/queues")
          expect(queueByName(after, "webhooks")).toMatchObject({ depth: 1 })
          expect(queueByName(after, "webhooks_dead_letter")).toMatchObject({ depth: 0 })
        }))

      it.effect("reprocess: a failed image (processing_failed) becomes ready again", () =>
        Effect.gen(function* () {
          const repo = yield* ImageRepository
          const id = yield* upload
          yield* runJobs("small")
          yield* runJobs("large")
          // The medium job was lost after its retries: the size and the image say so.
          yield* dropJobs("medium")
          yield* repo.markRenditionFailed(ImageId.make(id), "medium", {
            code: "processing_failed",
            message: "gave up after 3 attempts"
          })
          const failed = yield* statusOf(id)
          expect(failed.status).toBe("failed")
          expect(failed.renditions.medium.status).toBe("failed")

          const listed = yield* call("/admin/images?status=failed")
          expect(listed.json.images.map((i) => i.image_id)).toContain(id)

          const answer = yield* postJson(`/admin/images/${id}/reprocess`, {})
          expect(answer.status).toBe(202)
          expect(answer.json.status).toBe("processing")
          expect(answer.json.error).toBeUndefined()
          // The failed size says so until it is made (processImage then unmarks the original).
          expect(answer.json.renditions?.medium.status).toBe("failed")
          expect(answer.json.renditions?.small.status).toBe("ready")

          // Only the missing size was queued again.
          expect(yield* runJobs("small")).toBe(0)
          expect(yield* runJobs("medium")).toBe(1)
          const ready = yield* statusOf(id)
          expect(ready.status).toBe("ready")
          expect(ready.renditions.medium.status).toBe("ready")
        }))

      it.effect("reprocess: given sizes of a ready image are made again", () =>
        Effect.gen(function* () {
          const id = yield* upload
          for (const size of ["small", "medium", "large"] as const) yield* runJobs(size)
          expect((yield* statusOf(id)).status).toBe("ready")

          const answer = yield* postJson(`/admin/images/${id.toUpperCase()}/reprocess`, { sizes: ["small"] })
          expect(answer.status).toBe(202)
          expect(answer.json).toMatchObject({ image_id: id, status: "processing" })
          expect(answer.json.renditions?.small.status).toBe("pending")
          expect(answer.json.renditions?.large.status).toBe("ready")
          expect(yield* runJobs("large")).toBe(0)
          expect(yield* runJobs("small")).toBe(1)
          expect((yield* statusOf(id)).status).toBe("ready")
        }))

      it.effect("reprocess refuses: 409 without an original or for refused content, 404 unknown, 400 bad sizes", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const waiting = (yield* Effect.promise(() =>
            requestUpload(baseUrl, { content_type: "image/png", content_length: 10 }).then((r) =>
              r.json()
            )
          )) as { image_id: string }
          const notUploaded = yield* postJson(`/admin/images/${waiting.image_id}/reprocess`, {})
          expect(notUploaded.status).toBe(409)
          expect(notUploaded.json).toEqual({ error: "conflict", message: expect.stringContaining("no original") })

          const junk = new TextEncoder().encode("this is not an image at all")
          const refused = (yield* Effect.promise(() => uploadBytes(baseUrl, junk, "image/png"))).image_id
          yield* Effect.promise(async () => {
            for (let i = 0; i < 200 && (await getStatus(baseUrl, refused)).status === "awaiting_upload"; i++) {
              await new Promise((r) => setTimeout(r, 10))
            }
          })
          yield* runJobs("small")
          yield* runJobs("medium")
          yield* runJobs("large")
          expect((yield* statusOf(refused)).error?.code).toBe("not_an_image")
          const again = yield* postJson(`/admin/images/${refused}/reprocess`, {})
          expect(again.status).toBe(409)
          expect(again.json).toEqual({ error: "conflict", message: expect.stringContaining("refused") })

          const unknown = yield* postJson("/admin/images/0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10/reprocess", {})
          expect(unknown.status).toBe(404)
          expect(unknown.json.error).toBe("not_found")

          for (const body of [{ sizes: [] }, { sizes: ["huge"] }, { sizes: "small" }]) {
            const bad = yield* postJson(`/admin/images/${refused}/reprocess`, body)
            expect(bad.status, JSON.stringify(body)).toBe(400)
            expect(bad.json.error).toBe("bad_request")
          }
        }))
    }
  )

  layer(
    makeTestApp({ env: { IMGPIPE_ADMIN_KEYS: "admin-key-1, admin-key-2", IMGPIPE_API_KEYS: "upload-key" } }),
    { excludeTestServices: true, timeout: 120_000 }
  )("with admin keys", (it) => {
    it.effect("401 without a key or with an unknown one, 403 with an upload key, 200 with an admin key", () =>
      Effect.gen(function* () {
        const none = yield* call("/admin/queues")
        expect(none.status).toBe(401)
        expect(none.json).toEqual({ error: "unauthorized", message: expect.any(String) })
        const unknown = yield* call("/admin/queues", { headers: bearer("guess") })
        expect(unknown.status).toBe(401)
        const upload = yield* call("/admin/images", { headers: bearer("upload-key") })
        expect(upload.status).toBe(403)
        expect(upload.json).toEqual({ error: "forbidden", message: expect.stringContaining("upload key") })
        for (const key of ["admin-key-1", "admin-key-2"]) {
          expect((yield* call("/admin/queues", { headers: bearer(key) })).status).toBe(200)
        }
        const redrive = yield* call("/admin/dlq/redrive", { method: "POST", headers: bearer("upload-key") })
        expect(redrive.status).toBe(403)
        // The keys are separate: an admin key is not an upload key.
        const res = yield* postJson("/upload", { content_type: "image/png", content_length: 10 }, bearer("admin-key-1"))
        expect(res.status).toBe(401)
      }))
  })

  layer(makeTestApp({ env: { HOST: "0.0.0.0" } }), { excludeTestServices: true, timeout: 120_000 })(
    "off on a non-loopback address without keys",
    (it) => {
      it.effect("403 admin_disabled, whatever the key", () =>
        Effect.gen(function* () {
          for (const headers of [{}, bearer("anything")]) {
            const answer = yield* call("/admin/queues", { headers })
            expect(answer.status).toBe(403)
            expect(answer.json).toEqual({
              error: "admin_disabled",
              message: expect.stringContaining("IMGPIPE_ADMIN_KEYS")
            })
          }
          // The rest of the API is unaffected.
          expect((yield* call("/health")).status).toBe(200)
        }))
    }
  )
})
