/**
 * The `images` group over HTTP (no API keys): POST /upload and GET /images/{image_id}, and a typed
 * `HttpApiClient` built from the same contract. Harness: support/harness.ts.
 */
import { FetchHttpClient, HttpApiClient } from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Api } from "../src/Api.js"
import { UnsupportedType } from "../src/errors.js"
import {
  asId,
  call,
  expectError,
  ID,
  makeHarness,
  postJson,
  seed,
  SEED_PLACEHOLDER,
  TestServer
} from "./support/harness.js"

const open = makeHarness([])

describe("images: POST /upload, GET /images/{image_id} (no API keys)", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    // -- POST /upload

    it.effect("POST /upload answers 201 with the ticket and creates the record", () =>
      Effect.gen(function* () {
        const answer = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 123_456 })
        expect(answer.status).toBe(201)
        const body = answer.json as {
          image_id: string
          upload: { method: string; url: string; headers: Record<string, string> }
          expires_at: string
        }
        expect(Object.keys(body).sort()).toEqual(["expires_at", "image_id", "upload"])
        expect(body.image_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        expect(body.upload).toEqual({
          method: "PUT",
          url: `https://storage.test/raw/${body.image_id}?length=123456&signature=test`,
          headers: { "content-type": "image/jpeg" }
        })
        expect(new Date(body.expires_at).toISOString()).toBe(body.expires_at)
        const lifetime = new Date(body.expires_at).getTime() - Date.now()
        expect(lifetime).toBeGreaterThan(850_000)
        expect(lifetime).toBeLessThanOrEqual(900_000)

        const stored = yield* open.repository.service.find(asId(body.image_id))
        expect(Option.map(stored, (view) => view.image.status)).toEqual(Option.some("awaiting_upload"))
      }))

    it.effect("POST /upload normalises the declared type (parameters, case)", () =>
      Effect.gen(function* () {
        const answer = yield* postJson("/upload", { content_type: "Image/PNG; charset=binary", content_length: 10 })
        expect(answer.status).toBe(201)
        expect((answer.json as { upload: { headers: unknown } }).upload.headers).toEqual({
          "content-type": "image/png"
        })
      }))

    it.effect("POST /upload answers 400 bad_request for missing or invalid fields", () =>
      Effect.gen(function* () {
        const missingType = yield* postJson("/upload", { content_length: 10 })
        expect(expectError(missingType, 400, "bad_request")).toContain("content_type")

        const missingLength = yield* postJson("/upload", { content_type: "image/jpeg" })
        expect(expectError(missingLength, 400, "bad_request")).toContain("content_length")

        for (const content_length of ["10", -1, -5, 1.5, null]) {
          const answer = yield* postJson("/upload", { content_type: "image/jpeg", content_length })
          const message = expectError(answer, 400, "bad_request")
          expect(message).toBe("content_length must be a whole number of bytes (0 or more)")
        }

        const wrongType = yield* postJson("/upload", { content_type: 42, content_length: 10 })
        expect(expectError(wrongType, 400, "bad_request")).toContain("content_type")

        const emptyType = yield* postJson("/upload", { content_type: "  ", content_length: 10 })
        expect(expectError(emptyType, 400, "bad_request")).toContain("content_type")

        const notAnObject = yield* postJson("/upload", [1, 2])
        expectError(notAnObject, 400, "bad_request")
      }))

    it.effect("POST /upload answers 400 bad_request for a body that is not JSON", () =>
      Effect.gen(function* () {
        const broken = yield* postJson("/upload", "{\"content_type\": \"image/jpeg\",")
        expect(expectError(broken, 400, "bad_request")).toMatch(/JSON/)

        const empty = yield* postJson("/upload", "")
        expectError(empty, 400, "bad_request")
      }))

    it.effect("POST /upload answers 413 too_large over the limit", () =>
      Effect.gen(function* () {
        const atLimit = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 26_214_400 })
        expect(atLimit.status).toBe(201)
        const over = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 26_214_401 })
        expect(expectError(over, 413, "too_large")).toContain("26214400")
      }))

    it.effect("POST /upload answers 415 unsupported_type for HEIC, SVG and non-images", () =>
      Effect.gen(function* () {
        for (const contentType of ["image/heic", "image/svg+xml", "application/pdf"]) {
          const answer = yield* postJson("/upload", { content_type: contentType, content_length: 1000 })
          expectError(answer, 415, "unsupported_type")
        }
        const svg = yield* postJson("/upload", { content_type: "image/svg+xml", content_length: 1000 })
        expect((svg.json as { message: string }).message).toMatch(/SVG/)
      }))

    it.effect("seeds images in every state", () => seed(open.repository.service))

    // -- GET /images/{image_id}

    it.effect("GET /images/{image_id} describes the image, its original and every size", () =>
      Effect.gen(function* () {
        const partial = yield* call(`/images/${ID.mediumOnly}`)
        expect(partial.status).toBe(200)
        expect(partial.json).toEqual({
          image_id: ID.mediumOnly,
          status: "processing",
          original: { content_type: "image/jpeg", bytes: 123_456, width: null, height: null, format: null },
          renditions: {
            small: { status: "pending", width: null, height: null, bytes: null, content_type: null },
            medium: { status: "ready", width: 1024, height: 768, bytes: 10_240, content_type: "image/jpeg" },
            large: { status: "pending", width: null, height: null, bytes: null, content_type: null }
          },
          // No small size yet: no placeholder; resized, not copied from an earlier upload.
          placeholder: null,
          duplicate_of: null,
          created_at: expect.any(String),
          updated_at: expect.any(String)
        })

        const awaiting = yield* call(`/images/${ID.awaiting}`)
        expect(awaiting.json).toMatchObject({ status: "awaiting_upload", original: null })

        const ready = yield* call(`/images/${ID.allReady}`)
        expect(ready.json).toMatchObject({
          status: "ready",
          original: { content_type: "image/jpeg", bytes: 123_456, width: 4000, height: 3000, format: "jpeg" },
          placeholder: {
            thumbhash: SEED_PLACEHOLDER.thumbhash,
            dominant_color: SEED_PLACEHOLDER.dominantColor,
            width: SEED_PLACEHOLDER.width,
            height: SEED_PLACEHOLDER.height
          },
          duplicate_of: null
        })

        const rejected = yield* call(`/images/${ID.rejected}`)
        expect(rejected.json).toMatchObject({
          status: "failed",
          error: { code: "not_an_image", message: "The file is not an image." },
          renditions: { small: { status: "failed" }, medium: { status: "failed" }, large: { status: "failed" } }
        })
      }))

    it.effect("GET /images/{image_id} answers 400 for a bad id and 404 for an unknown one", () =>
      Effect.gen(function* () {
        expect(expectError(yield* call("/images/not-a-uuid"), 400, "bad_request")).toBe(
          "image_id must be an image id (a UUID)"
        )
        expectError(yield* call(`/images/${ID.unknown}`), 404, "not_found")
      }))

    it.effect("a typed HttpApiClient shares the contract and decodes errors into their classes", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const client = yield* HttpApiClient.make(Api, { baseUrl })
        expect(yield* client.system.health()).toEqual({ status: "ok" })
        const ticket = yield* client.images.upload({ payload: { content_type: "image/webp", content_length: 99 } })
        expect(ticket.upload.headers).toEqual({ "content-type": "image/webp" })
        const refused = yield* client.images.upload({ payload: { content_type: "image/heic", content_length: 99 } })
          .pipe(
            Effect.flip
          )
        expect(refused).toBeInstanceOf(UnsupportedType)
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})
