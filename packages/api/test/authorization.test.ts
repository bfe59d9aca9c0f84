/**
 * `Authorization: Bearer <key>` (authorization.ts): the API open without keys, and with keys
 * configured which endpoints need one. Harness: support/harness.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, expectError, ID, makeHarness, postJson, seed } from "./support/harness.js"

// ---- open server (no API keys) -------------------------------------------------------------------

const open = makeHarness([])

describe("authorization: no API keys", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    it.effect("logs that the API is open", () =>
      Effect.sync(() => {
        expect(open.logs).toContain("no API keys configured: the API is open")
      }))
  })
})

// ---- server with API keys ------------------------------------------------------------------------

const keyed = makeHarness(["first-key-0123456789", "second-key-abcdefghij"])

describe("authorization: API keys configured", () => {
  layer(keyed.layer, { excludeTestServices: true })((it) => {
    it.effect("logs that keys are configured, never the keys", () =>
      Effect.sync(() => {
        expect(open.logs.join("\n")).not.toContain("key-")
        expect(keyed.logs.some((line) => line.includes("2 API key(s) configured"))).toBe(true)
        expect(keyed.logs.join("\n")).not.toMatch(/first-key|second-key/)
      }))

    it.effect("POST /upload answers 401 unauthorized without a key or with a wrong one", () =>
      Effect.gen(function* () {
        const body = { content_type: "image/jpeg", content_length: 10 }
        expect(expectError(yield* postJson("/upload", body), 401, "unauthorized")).toMatch(/Bearer/)
        expectError(yield* postJson("/upload", body, { authorization: "Bearer wrong" }), 401, "unauthorized")
        expectError(
          yield* postJson("/upload", body, { authorization: "Bearer first-key-0123456789x" }),
          401,
          "unauthorized"
        )
        expectError(yield* postJson("/upload", body, { authorization: "Bearer " }), 401, "unauthorized")
      }))

    it.effect("POST /upload accepts any configured key", () =>
      Effect.gen(function* () {
        const body = { content_type: "image/jpeg", content_length: 10 }
        for (const key of ["first-key-0123456789", "second-key-abcdefghij"]) {
          const answer = yield* postJson("/upload", body, { authorization: `Bearer ${key}` })
          expect(answer.status).toBe(201)
        }
      }))

    it.effect("GET /images/{image_id} needs a key; get_image, health, ready, docs stay public", () =>
      Effect.gen(function* () {
        yield* seed(keyed.repository.service)
        expectError(yield* call(`/images/${ID.allReady}`), 401, "unauthorized")
        const withKey = yield* call(`/images/${ID.allReady}`, {
          headers: { authorization: "Bearer second-key-abcdefghij" }
        })
        expect(withKey.status).toBe(200)

        expect((yield* call(`/get_image?image_id=${ID.allReady}&image_size=small`)).status).toBe(302)
        expect((yield* call("/health")).status).toBe(200)
        expect((yield* call("/ready")).status).toBe(200)
        expect((yield* call("/openapi.json")).status).toBe(200)
        expect((yield* call("/docs")).status).toBe(200)
      }))
  })
})
