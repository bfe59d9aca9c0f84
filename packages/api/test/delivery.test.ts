/**
 * The `delivery` group over HTTP: GET /get_image (redirect or JSON, fallback order, cache policy,
 * errors) and what a failing store or a defect answers. Harness: support/harness.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, expectError, ID, makeHarness, seed } from "./support/harness.js"

const open = makeHarness([])

describe("delivery: GET /get_image (no API keys)", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    it.effect("seeds images in every state", () => seed(open.repository.service))

    it.effect("GET /get_image answers 400 bad_request for missing or invalid parameters", () =>
      Effect.gen(function* () {
        expect(expectError(yield* call("/get_image?image_size=small"), 400, "bad_request")).toBe("image_id is missing")
        expect(expectError(yield* call("/get_image?image_id=nope&image_size=small"), 400, "bad_request")).toBe(
          "image_id must be an image id (a UUID)"
        )
        expect(expectError(yield* call(`/get_image?image_id=${ID.allReady}&image_size=huge`), 400, "bad_request"))
          .toBe("image_size must be one of small, medium, large")
        expect(expectError(yield* call(`/get_image?image_id=${ID.allReady}`), 400, "bad_request")).toBe(
          "image_size is missing"
        )
      }))

    it.effect("GET /get_image answers 404 not_found for an unknown id and for nothing uploaded yet", () =>
      Effect.gen(function* () {
        expectError(yield* call(`/get_image?image_id=${ID.unknown}&image_size=small`), 404, "not_found")
        expectError(yield* call(`/get_image?image_id=${ID.awaiting}&image_size=small`), 404, "not_found")
      }))

    it.effect("GET /get_image answers 422 with the rejection code as error", () =>
      Effect.gen(function* () {
        const answer = yield* call(`/get_image?image_id=${ID.rejected}&image_size=small`)
        expect(answer.status).toBe(422)
        expect(answer.json).toEqual({ error: "not_an_image", message: "The file is not an image." })
      }))

    it.effect("GET /get_image redirects to the exact size with a bounded cache lifetime", () =>
      Effect.gen(function* () {
        for (const size of ["small", "medium", "large"] as const) {
          const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=${size}`)
          expect(answer.status).toBe(302)
          expect(answer.headers.get("location")).toBe(
            `https://storage.test/processed/${ID.allReady}/${size}?signature=test`
          )
          expect(answer.headers.get("x-image-size")).toBe(size)
          expect(answer.headers.get("cache-control")).toBe("public, max-age=300")
          expect(answer.headers.get("vary")).toBe("Accept")
        }
      }))

    it.effect("GET /get_image accepts an upper-case id", () =>
      Effect.gen(function* () {
        const answer = yield* call(`/get_image?image_id=${ID.allReady.toUpperCase()}&image_size=small`)
        expect(answer.status).toBe(302)
        expect(answer.headers.get("x-image-size")).toBe("small")
      }))

    it.effect("GET /get_image falls back to another size, then the original, and forbids caching", () =>
      Effect.gen(function* () {
        const otherSize = yield* call(`/get_image?image_id=${ID.mediumOnly}&image_size=small`)
        expect(otherSize.status).toBe(302)
        expect(otherSize.headers.get("location")).toBe(
          `https://storage.test/processed/${ID.mediumOnly}/medium?signature=test`
        )
        expect(otherSize.headers.get("x-image-size")).toBe("medium")
        expect(otherSize.headers.get("cache-control")).toBe("no-store")
        expect(otherSize.headers.get("vary")).toBe("Accept")

        const exact = yield* call(`/get_image?image_id=${ID.mediumOnly}&image_size=medium`)
        expect(exact.headers.get("cache-control")).toBe("public, max-age=300")

        const original = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=large`)
        expect(original.status).toBe(302)
        expect(original.headers.get("location")).toBe(`https://storage.test/raw/${ID.originalOnly}?signature=test`)
        expect(original.headers.get("x-image-size")).toBe("original")
        expect(original.headers.get("cache-control")).toBe("no-store")
      }))

    it.effect("GET /get_image with Accept: application/json answers 200 with the description", () =>
      Effect.gen(function* () {
        const exact = yield* call(`/get_image?image_id=${ID.allReady}&image_size=medium`, {
          headers: { accept: "application/json" }
        })
        expect(exact.status).toBe(200)
        expect(exact.headers.get("content-type")).toMatch(/^application\/json/)
        expect(exact.headers.get("x-image-size")).toBe("medium")
        expect(exact.headers.get("cache-control")).toBe("public, max-age=300")
        expect(exact.headers.get("vary")).toBe("Accept")
        const body = exact.json as Record<string, unknown>
        expect(body).toEqual({
          image_id: ID.allReady,
          requested_size: "medium",
          served_size: "medium",
          url: `https://storage.test/processed/${ID.allReady}/medium?signature=test`,
          content_type: "image/jpeg",
          width: 1024,
          height: 768,
          bytes: 10_240,
          expires_at: expect.any(String)
        })
        const lifetime = new Date(String(body["expires_at"])).getTime() - Date.now()
        expect(lifetime).toBeGreaterThan(3_500_000)

        // An original not yet probed has no dimensions; a fallback is not cached.
        const original = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=small`, {
          headers: { accept: "text/html;q=0.9, application/json" }
        })
        expect(original.status).toBe(200)
        expect(original.headers.get("cache-control")).toBe("no-store")
        expect(original.json).toMatchObject({
          requested_size: "small",
          served_size: "original",
          content_type: "image/jpeg",
          width: null,
          height: null,
          bytes: 123_456
        })

        // Browsers' image and page requests keep the redirect.
        const img = yield* call(`/get_image?image_id=${ID.allReady}&image_size=small`, {
          headers: { accept: "image/avif,image/webp,*/*;q=0.8" }
        })
        expect(img.status).toBe(302)
      }))

    // -- failures of the backing services

    it.effect("a failing store answers 503 unavailable without leaking details", () =>
      Effect.gen(function* () {
        open.storage.state.failDownloads = true
        const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=small`).pipe(
          Effect.ensuring(Effect.sync(() => {
            open.storage.state.failDownloads = false
          }))
        )
        expectError(answer, 503, "unavailable")
        expect(answer.text).not.toMatch(/disk on fire|srv|StorageError/)
      }))

    it.effect("a defect answers 500 internal_error without leaking details, and is logged", () =>
      Effect.gen(function* () {
        open.storage.state.dieOnDownload = true
        const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=small`).pipe(
          Effect.ensuring(Effect.sync(() => {
            open.storage.state.dieOnDownload = false
          }))
        )
        expectError(answer, 500, "internal_error")
        expect(answer.text).not.toMatch(/secret|credentials/)
        expect(open.logs).toContain("unexpected failure")
      }))
  })
})
