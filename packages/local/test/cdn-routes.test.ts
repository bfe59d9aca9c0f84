/**
 * `IMGPIPE_DELIVERY=cdn` on the embedded runner (the default): `get_image` redirects a size to the
 * runner's own stable `/cdn/<id>/<size>[.ext]` path, which serves it with a strong ETag, a year's
 * immutable caching and 304 on `If-None-Match`; nothing but processed keys of that form is served,
 * and originals stay behind signed URLs. With `signed`, the old signed URLs and no `/cdn` paths.
 * The jobs are run by the test (no workers), so the original-only state is reached for sure.
 */
import { describe, expect, layer } from "@effect/vitest"
import { processImage } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { contentTypeOf, fixture, getImage, uploadAndStart } from "./support/client.js"

const CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
const IMMUTABLE = "public, max-age=31536000, immutable"

/** Receives and runs the pending jobs of every size, as the workers would. */
const runJobs = Effect.gen(function* () {
  const queue = yield* LocalQueue
  for (const size of ["small", "medium", "large"] as const) {
    const jobs = yield* queue.receive(size, { max: 10, visibilityTimeoutSeconds: 30, maxReceives: 3 })
    for (const job of jobs) {
      yield* processImage({ job: job.body, receiveCount: job.receiveCount, maxReceives: 3 })
      yield* queue.delete(job.id)
    }
  }
})

const location = (baseUrl: string, id: string, size: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const answer = await getImage(baseUrl, id, size, init)
    expect(answer.status).toBe(302)
    return answer.headers.get("location") ?? ""
  })

const fetchRaw = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const answer = await fetch(url, init)
    return { answer, body: new Uint8Array(await answer.arrayBuffer()) }
  })

const uploaded = (baseUrl: string) =>
  Effect.promise(() =>
    uploadAndStart(
      baseUrl,
      fixture("photo-1280x1024-grass-progressive.jpg"),
      contentTypeOf("photo-1280x1024-grass-progressive.jpg")
    )
  ).pipe(Effect.map((ticket) => ticket.image_id))

describe("cdn delivery (the default)", () => {
  layer(makeTestApp({ env: { IMGPIPE_FORMATS: "webp" } }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("originals stay signed; sizes redirect to the same stable /cdn URL on every call", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const id = yield* uploaded(baseUrl)
        // Only the original so far: signed, expiring.
        expect(yield* location(baseUrl, id, "small", { headers: { accept: CHROME } })).toMatch(
          new RegExp(`^${baseUrl}/storage/raw/${id}\\?expires=\\d+&sig=[0-9a-f]{64}$`)
        )
        yield* runJobs

        const first = yield* location(baseUrl, id, "medium")
        expect(first).toBe(`${baseUrl}/cdn/${id}/medium`)
        expect(yield* location(baseUrl, id, "medium")).toBe(first)
        // WebP was made (IMGPIPE_FORMATS=webp); AVIF was not, so Chrome gets WebP.
        expect(yield* location(baseUrl, id, "medium", { headers: { accept: CHROME } })).toBe(`${first}.webp`)
        expect(yield* location(baseUrl, id, "medium", { headers: { accept: "*/*" } })).toBe(first)
      }))

    it.effect("GET serves the object with a strong ETag and a year's immutable caching; HEAD the same headers", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const id = yield* uploaded(baseUrl)
        yield* runJobs
        for (
          const [url, type] of [[`${baseUrl}/cdn/${id}/small`, "image/jpeg"], [
            `${baseUrl}/cdn/${id}/small.webp`,
            "image/webp"
          ]] as const
        ) {
          const { answer, body } = yield* fetchRaw(url)
          expect(answer.status).toBe(200)
          expect(answer.headers.get("content-type")).toBe(type)
          expect(answer.headers.get("cache-control")).toBe(IMMUTABLE)
          expect(answer.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/)
          expect(Number(answer.headers.get("content-length"))).toBe(body.byteLength)
          expect(body.byteLength).toBeGreaterThan(100)

          // From another origin (an app's page), like the storage routes: CORS open without API keys.
          const again = yield* fetchRaw(url, { headers: { origin: "http://app.example.test" } })
          expect(again.answer.headers.get("access-control-allow-origin")).toBe("*")
          expect(again.answer.headers.get("etag")).toBe(answer.headers.get("etag"))
          expect(again.body).toEqual(body)

          const head = yield* fetchRaw(url, { method: "HEAD" })
          expect(head.answer.status).toBe(200)
          expect(head.body.byteLength).toBe(0)
          expect(head.answer.headers.get("etag")).toBe(answer.headers.get("etag"))
          expect(head.answer.headers.get("content-length")).toBe(String(body.byteLength))
        }
      }))

    it.effect("If-None-Match → 304 for the ETag, a list holding it, a weak form of it and *; 200 otherwise", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const id = yield* uploaded(baseUrl)
        yield* runJobs
        const url = `${baseUrl}/cdn/${id}/large`
        const etag = (yield* fetchRaw(url)).answer.headers.get("etag") ?? ""
        for (const header of [etag, `"nope", ${etag}`, `W/${etag}`, "*"]) {
          const { answer, body } = yield* fetchRaw(url, { headers: { "if-none-match": header } })
          expect(answer.status).toBe(304)
          expect(body.byteLength).toBe(0)
          expect(answer.headers.get("etag")).toBe(etag)
          expect(answer.headers.get("cache-control")).toBe(IMMUTABLE)
        }
        expect((yield* fetchRaw(url, { headers: { "if-none-match": "\"0123\"" } })).answer.status).toBe(200)
      }))

    it.effect("404 JSON for a missing object, an original, or anything not <id>/<size>[.ext]", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const id = yield* uploaded(baseUrl)
        yield* runJobs
        const refused = [
          `/cdn/${id}/small.avif`, // not made (IMGPIPE_FORMATS=webp)
          `/cdn/${crypto.randomUUID()}/small`,
          `/cdn/${id}`, // the original's key
          `/cdn/${id}/original`,
          `/cdn/${id}/small.png`,
          `/cdn/${id}/small.webp.meta.json`, // the sidecar
          `/cdn/${id.toUpperCase()}/small`,
          `/cdn/${id}/%2e%2e/%2e%2e/raw/${id}`,
          `/cdn/..%2f..%2fraw%2f${id}`,
          `/cdn/${id}/small/../../${id}`
        ]
        for (const path of refused) {
          const { answer, body } = yield* fetchRaw(`${baseUrl}${path}`)
          expect([path, answer.status]).toEqual([path, 404])
          expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: "not_found" })
        }
        // A client resolves a bare `..` itself: that lands on the signed storage route, which wants a signature.
        expect((yield* fetchRaw(`${baseUrl}/cdn/../storage/raw/${id}`)).answer.status).toBe(403)
      }))
  })
})

describe("signed delivery (IMGPIPE_DELIVERY=signed)", () => {
  layer(makeTestApp({ env: { IMGPIPE_DELIVERY: "signed" } }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("sizes redirect to signed URLs, and there are no /cdn paths", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const id = yield* uploaded(baseUrl)
        yield* runJobs
        const url = yield* location(baseUrl, id, "small")
        expect(url).toMatch(new RegExp(`^${baseUrl}/storage/processed/${id}/small\\?expires=\\d+&sig=[0-9a-f]{64}$`))
        expect((yield* fetchRaw(url)).answer.status).toBe(200)
        expect(yield* location(baseUrl, id, "small", { headers: { accept: CHROME } })).toMatch(
          new RegExp(`^${baseUrl}/storage/processed/${id}/small\\.webp\\?expires=\\d+&sig=`)
        )
        expect((yield* fetchRaw(`${baseUrl}/cdn/${id}/small`)).answer.status).toBe(404)
      }))
  })
})
