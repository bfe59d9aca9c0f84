/**
 * The fallback rule of `GET /get_image`, each branch, over HTTP on the embedded layers with no
 * workers: the test runs each size's job itself, so every intermediate state is reached for sure.
 */
import { expect, layer } from "@effect/vitest"
import { processImage } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { contentTypeOf, fixture, getImage, getStatus, requestUpload, uploadAndStart } from "./support/client.js"

type Size = "small" | "medium" | "large"

/** Receives and runs the pending job of one size, as a worker would. */
const runJob = (size: Size) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    const jobs = yield* queue.receive(size, { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 3 })
    expect(jobs.length).toBeGreaterThan(0)
    for (const job of jobs) {
      yield* processImage({ job: job.body, receiveCount: job.receiveCount, maxReceives: 3 })
      yield* queue.delete(job.id)
    }
  })

const ask = (baseUrl: string, imageId: string, size: Size) =>
  Effect.promise(async () => {
    const answer = await getImage(baseUrl, imageId, size)
    return {
      status: answer.status,
      servedSize: answer.headers.get("x-image-size"),
      cacheControl: answer.headers.get("cache-control"),
      location: answer.headers.get("location")
    }
  })

const download = (url: string) => Effect.promise(async () => new Uint8Array(await (await fetch(url)).arrayBuffer()))

layer(makeTestApp(), { excludeTestServices: true, timeout: 120_000 })("get_image fallback rule", (it) => {
  it.effect("original → smallest other size → exact size, with X-Image-Size and Cache-Control each time", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const name = "photo-1280x1024-grass-progressive.jpg"
      const original = fixture(name)
      const ticket = yield* Effect.promise(() => uploadAndStart(baseUrl, original, contentTypeOf(name)))
      const id = ticket.image_id

      // Nothing processed yet: the original, not cacheable.
      for (const size of ["small", "medium", "large"] as const) {
        const answer = yield* ask(baseUrl, id, size)
        expect(answer).toMatchObject({ status: 302, servedSize: "original", cacheControl: "no-store" })
        // Originals are always signed, even with cdn delivery (the default).
        expect(answer.location).toMatch(new RegExp(`^${baseUrl}/storage/raw/${id}\\?expires=\\d+&sig=[0-9a-f]{64}$`))
        expect(yield* download(answer.location!)).toEqual(original)
      }

      // Only large is ready: every other request falls back to it.
      yield* runJob("large")
      expect(yield* ask(baseUrl, id, "small")).toMatchObject({
        status: 302,
        servedSize: "large",
        cacheControl: "no-store"
      })
      expect(yield* ask(baseUrl, id, "medium")).toMatchObject({
        status: 302,
        servedSize: "large",
        cacheControl: "no-store"
      })
      const exactLarge = yield* ask(baseUrl, id, "large")
      // A size: the runner's stable, unsigned /cdn URL (the fallbacks above too, but never cached).
      expect(exactLarge).toMatchObject({ status: 302, servedSize: "large", location: `${baseUrl}/cdn/${id}/large` })
      expect(exactLarge.cacheControl).toMatch(/^public, max-age=\d+$/)

      // Medium too: a small request now gets the smallest available other size, medium.
      yield* runJob("medium")
      expect(yield* ask(baseUrl, id, "small")).toMatchObject({ servedSize: "medium", cacheControl: "no-store" })
      expect(yield* ask(baseUrl, id, "large")).toMatchObject({ servedSize: "large" })

      // All three: exact answers everywhere, the image is ready.
      yield* runJob("small")
      for (const size of ["small", "medium", "large"] as const) {
        const answer = yield* ask(baseUrl, id, size)
        expect(answer.servedSize).toBe(size)
        expect(answer.cacheControl).toMatch(/^public, max-age=\d+$/)
      }
      const status = yield* Effect.promise(() => getStatus(baseUrl, id))
      expect(status.status).toBe("ready")
    }))

  it.effect("large requested while only small is ready → small", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const name = "photo-1024x772.webp"
      const ticket = yield* Effect.promise(() => uploadAndStart(baseUrl, fixture(name), contentTypeOf(name)))
      yield* runJob("small")
      expect(yield* ask(baseUrl, ticket.image_id, "large")).toMatchObject({
        servedSize: "small",
        cacheControl: "no-store"
      })
      yield* runJob("medium")
      yield* runJob("large")
    }))

  it.effect("nothing uploaded → 404; rejected → 422 with the reason", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const pending = yield* Effect.promise(async () =>
        (await (await requestUpload(baseUrl, { content_type: "image/jpeg", content_length: 10 })).json()) as {
          image_id: string
        }
      )
      const notYet = yield* ask(baseUrl, pending.image_id, "small")
      expect(notYet.status).toBe(404)

      const bad = yield* Effect.promise(() => uploadAndStart(baseUrl, fixture("not-an-image-text.jpg"), "image/jpeg"))
      // Before any job ran, the original is served: nobody has looked at the bytes yet.
      expect((yield* ask(baseUrl, bad.image_id, "small")).servedSize).toBe("original")
      yield* runJob("medium")
      const answer = yield* Effect.promise(() => getImage(baseUrl, bad.image_id, "small"))
      expect(answer.status).toBe(422)
      expect(answer.headers.get("x-image-size")).toBeNull()
      const body = (yield* Effect.promise(() => answer.json())) as { error: string; message: string }
      expect(body.error).toBe("not_an_image")
      // The other sizes' jobs finish without retrying: the image is refused for good.
      yield* runJob("small")
      yield* runJob("large")
      const queue = yield* LocalQueue
      for (const size of ["small", "medium", "large"] as const) {
        expect(yield* queue.depth(size)).toEqual({ visible: 0, notVisible: 0, dead: 0 })
      }
    }))
})
