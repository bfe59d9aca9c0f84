/**
 * The `delivery` group over HTTP: GET /get_image (redirect or JSON, fallback order, encodings by
 * Accept and format=, cdn and signed URLs, cache policy, errors) and what a failing store or a
 * defect answers. Harness: support/harness.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, expectError, ID, makeHarness, seed, SEED_PLACEHOLDER, TEST_CDN_URL } from "./support/harness.js"

const open = makeHarness([])
const signed = makeHarness([], { delivery: { mode: "signed" } })

/** What browsers send for an `<img src>`. */
const BROWSER = {
  chrome: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
  firefox: "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
  safari15: "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
  safari13: "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
} as const

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

    it.effect("GET /get_image redirects to the exact size's stable CDN URL, the same every time", () =>
      Effect.gen(function* () {
        for (const size of ["small", "medium", "large"] as const) {
          const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=${size}`)
          expect(answer.status).toBe(302)
          expect(answer.headers.get("location")).toBe(`${TEST_CDN_URL}/${ID.allReady}/${size}`)
          expect(answer.headers.get("x-image-size")).toBe(size)
          expect(answer.headers.get("cache-control")).toBe("public, max-age=300")
          expect(answer.headers.get("vary")).toBe("Accept")
          const again = yield* call(`/get_image?image_id=${ID.allReady}&image_size=${size}`)
          expect(again.headers.get("location")).toBe(answer.headers.get("location"))
        }
      }))

    it.effect("GET /get_image accepts an upper-case id", () =>
      Effect.gen(function* () {
        const answer = yield* call(`/get_image?image_id=${ID.allReady.toUpperCase()}&image_size=small`)
        expect(answer.status).toBe(302)
        expect(answer.headers.get("x-image-size")).toBe("small")
      }))

    it.effect("GET /get_image chooses the encoding by Accept: named extras with q > 0, AVIF first, else the baseline", () =>
      Effect.gen(function* () {
        const location = (accept: string | undefined, id: string = ID.allReady, size = "medium") =>
          call(
            `/get_image?image_id=${id}&image_size=${size}`,
            accept === undefined ? {} : { headers: { accept } }
          ).pipe(Effect.map((answer) => {
            expect(answer.status).toBe(302)
            expect(answer.headers.get("vary")).toBe("Accept")
            return answer.headers.get("location")
          }))
        const base = `${TEST_CDN_URL}/${ID.allReady}/medium`
        expect(yield* location(BROWSER.chrome)).toBe(`${base}.avif`)
        expect(yield* location(BROWSER.firefox)).toBe(`${base}.avif`)
        expect(yield* location(BROWSER.safari15)).toBe(`${base}.webp`)
        expect(yield* location(BROWSER.safari13)).toBe(base)
        expect(yield* location(undefined)).toBe(base)
        expect(yield* location("*/*")).toBe(base)
        expect(yield* location("image/*")).toBe(base)
        // q-values: the higher wins, a tie goes to AVIF, q=0 refuses.
        expect(yield* location("image/webp;q=0.9, image/avif;q=0.5")).toBe(`${base}.webp`)
        expect(yield* location("image/webp;q=0.7, image/avif;q=0.7")).toBe(`${base}.avif`)
        expect(yield* location("image/avif;q=0, image/webp")).toBe(`${base}.webp`)
        expect(yield* location("image/webp;q=0")).toBe(base)
        // Extras not made (yet): the baseline, never a 404.
        expect(yield* location(BROWSER.chrome, ID.mediumOnly)).toBe(`${TEST_CDN_URL}/${ID.mediumOnly}/medium`)
        // The fallback size is negotiated the same way.
        expect(yield* location(BROWSER.chrome, ID.mediumOnly, "small")).toBe(`${TEST_CDN_URL}/${ID.mediumOnly}/medium`)
      }))

    it.effect("GET /get_image?format= names the encoding, falls back when it is missing, and refuses a bad value", () =>
      Effect.gen(function* () {
        const location = (query: string, accept?: string) =>
          call(`/get_image?${query}`, accept === undefined ? {} : { headers: { accept } }).pipe(
            Effect.map((answer) => answer.headers.get("location"))
          )
        const base = `${TEST_CDN_URL}/${ID.allReady}/small`
        expect(yield* location(`image_id=${ID.allReady}&image_size=small&format=avif`)).toBe(`${base}.avif`)
        expect(yield* location(`image_id=${ID.allReady}&image_size=small&format=webp`, BROWSER.chrome)).toBe(
          `${base}.webp`
        )
        expect(yield* location(`image_id=${ID.allReady}&image_size=small&format=jpeg`, BROWSER.chrome)).toBe(base)
        expect(yield* location(`image_id=${ID.allReady}&image_size=small&format=auto`, BROWSER.chrome)).toBe(
          `${base}.avif`
        )
        expect(yield* location(`image_id=${ID.mediumOnly}&image_size=medium&format=avif`)).toBe(
          `${TEST_CDN_URL}/${ID.mediumOnly}/medium`
        )
        expect(
          expectError(yield* call(`/get_image?image_id=${ID.allReady}&image_size=small&format=png`), 400, "bad_request")
        ).toBe("format must be one of jpeg, webp, avif, auto")
      }))

    it.effect("GET /get_image falls back to another size, then the original (signed), and forbids caching", () =>
      Effect.gen(function* () {
        const otherSize = yield* call(`/get_image?image_id=${ID.mediumOnly}&image_size=small`)
        expect(otherSize.status).toBe(302)
        expect(otherSize.headers.get("location")).toBe(`${TEST_CDN_URL}/${ID.mediumOnly}/medium`)
        expect(otherSize.headers.get("x-image-size")).toBe("medium")
        expect(otherSize.headers.get("cache-control")).toBe("no-store")
        expect(otherSize.headers.get("vary")).toBe("Accept")

        const exact = yield* call(`/get_image?image_id=${ID.mediumOnly}&image_size=medium`)
        expect(exact.headers.get("cache-control")).toBe("public, max-age=300")

        // Originals are always behind signed URLs, even with cdn delivery.
        const original = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=large`, {
          headers: { accept: BROWSER.chrome }
        })
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
        expect(exact.json).toEqual({
          image_id: ID.allReady,
          requested_size: "medium",
          served_size: "medium",
          format: "jpeg",
          url: `${TEST_CDN_URL}/${ID.allReady}/medium`,
          content_type: "image/jpeg",
          width: 1024,
          height: 768,
          bytes: 10_240,
          expires_at: null,
          placeholder: { thumbhash: SEED_PLACEHOLDER.thumbhash, dominant_color: "#5a7d3c", width: 100, height: 75 }
        })

        // JSON describing an extra: ask for it by format= or name it beside application/json.
        for (
          const [query, accept] of [
            ["&format=avif", "application/json"],
            ["", "application/json, image/avif"]
          ] as const
        ) {
          const avif = yield* call(`/get_image?image_id=${ID.allReady}&image_size=medium${query}`, {
            headers: { accept }
          })
          expect(avif.json).toMatchObject({
            format: "avif",
            url: `${TEST_CDN_URL}/${ID.allReady}/medium.avif`,
            content_type: "image/avif",
            bytes: 4096
          })
        }

        // An original not yet probed has no dimensions; its URL is signed and expires; no placeholder yet.
        const original = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=small`, {
          headers: { accept: "text/html;q=0.9, application/json" }
        })
        expect(original.status).toBe(200)
        expect(original.headers.get("cache-control")).toBe("no-store")
        expect(original.json).toMatchObject({
          requested_size: "small",
          served_size: "original",
          format: "jpeg",
          content_type: "image/jpeg",
          width: null,
          height: null,
          bytes: 123_456,
          placeholder: null
        })
        const lifetime = new Date(String((original.json as Record<string, unknown>)["expires_at"])).getTime() -
          Date.now()
        expect(lifetime).toBeGreaterThan(3_500_000)

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
        // The original: signed even with cdn delivery.
        const answer = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=small`).pipe(
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
        const answer = yield* call(`/get_image?image_id=${ID.originalOnly}&image_size=small`).pipe(
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

describe("delivery: GET /get_image with IMGPIPE_DELIVERY=signed", () => {
  layer(signed.layer, { excludeTestServices: true })((it) => {
    it.effect("seeds images in every state", () => seed(signed.repository.service))

    it.effect("redirects to a signed URL of the chosen encoding, cached at most a quarter of its life", () =>
      Effect.gen(function* () {
        const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=large`, {
          headers: { accept: BROWSER.safari15 }
        })
        expect(answer.status).toBe(302)
        expect(answer.headers.get("location")).toBe(
          `https://storage.test/processed/${ID.allReady}/large.webp?signature=test`
        )
        expect(answer.headers.get("cache-control")).toBe("public, max-age=300")
        expect(answer.headers.get("vary")).toBe("Accept")

        const json = yield* call(`/get_image?image_id=${ID.allReady}&image_size=small`, {
          headers: { accept: "application/json" }
        })
        const body = json.json as Record<string, unknown>
        expect(body).toMatchObject({
          format: "jpeg",
          url: `https://storage.test/processed/${ID.allReady}/small?signature=test`
        })
        const lifetime = new Date(String(body["expires_at"])).getTime() - Date.now()
        expect(lifetime).toBeGreaterThan(3_500_000)
      }))
  })
})
