/**
 * Defect 1 of issue 9: one unauthenticated request with a huge JSON body killed the server
 * (`RangeError: Invalid string length` in the body reader at ~600 MB) and 10–400 MB bodies were
 * buffered whole. Over the ECS composition (`makeHttpServer` over the SQL repository and S3 storage,
 * a real server on a free port): every JSON body is refused with 413 too_large before it is held,
 * whether its length is declared or it streams in chunked, with and without API keys, and the
 * server keeps answering with its memory flat.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { maxJsonBodyBytesConfig } from "../src/bodyLimit.js"
import { EcsServer, makeEcsServer, TestDatabase } from "./support/ecs.js"
import { chunks, MiB, streamBody } from "./support/stream.js"

const HUGE = 600 * MiB
const KEY = "body-limit-key-0123456789"

const rssMiB = () => process.memoryUsage().rss / MiB

const expectTooLarge = (answer: { status: number; body: string; headers: Record<string, unknown> }) => {
  expect(answer.status).toBe(413)
  expect(JSON.parse(answer.body)).toEqual({ error: "too_large", message: expect.stringContaining("16384 bytes") })
  // The rest of the body is not read: the connection is closed once the answer is out.
  expect(answer.headers["connection"]).toBe("close")
}

const upload = (baseUrl: string, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    fetch(`${baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ content_type: "image/jpeg", content_length: 245_760 })
    })
  )

/** The server still answers: liveness, and a real upload request through the database. */
const stillServing = (baseUrl: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    expect((yield* Effect.promise(() => fetch(`${baseUrl}/health`))).status).toBe(200)
    expect((yield* upload(baseUrl, headers)).status).toBe(201)
  })

layer(TestDatabase, { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.layer(makeEcsServer(), { timeout: 60_000 })("JSON body limit (ECS API, no API keys)", (it) => {
    it.effect(
      "a 600 MB chunked body to POST /upload gets 413 too_large quickly; RSS stays flat",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const before = rssMiB()
          const answer = yield* Effect.promise(() => streamBody(`${baseUrl}/upload`, chunks(HUGE)))
          expectTooLarge(answer)
          expect(answer.elapsedMs).toBeLessThan(5_000)
          // Refused after the first 16 KiB: what was sent beyond that sat in socket buffers.
          expect(answer.bytesSent).toBeLessThan(64 * MiB)
          expect(rssMiB() - before).toBeLessThan(48)
          yield* stillServing(baseUrl)
        }),
      60_000
    )

    it.effect(
      "a declared Content-Length of 600 MB gets 413 too_large without the body being read",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const before = rssMiB()
          const answer = yield* Effect.promise(() =>
            streamBody(`${baseUrl}/upload`, chunks(HUGE), { declaredLength: HUGE })
          )
          expectTooLarge(answer)
          expect(answer.elapsedMs).toBeLessThan(5_000)
          expect(answer.bytesSent).toBeLessThan(64 * MiB)
          expect(rssMiB() - before).toBeLessThan(48)
          yield* stillServing(baseUrl)
        }),
      60_000
    )

    it.effect("a 600 MB multipart body (not JSON at all) is held to the same limit", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const headers = { "content-type": "multipart/form-data; boundary=xyz" }
        const before = rssMiB()
        const declared = yield* Effect.promise(() =>
          streamBody(`${baseUrl}/upload`, chunks(HUGE), { headers, declaredLength: HUGE })
        )
        expectTooLarge(declared)
        // Chunked, the platform's own multipart limit stops it (it may reset the connection).
        const body = (function* () {
          yield Buffer.from("--xyz\r\ncontent-disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n")
          yield* chunks(HUGE)
        })()
        const chunked = yield* Effect.promise(() =>
          streamBody(`${baseUrl}/upload`, body, { headers }).then((answer) => answer.status, () => "reset")
        )
        expect([413, "reset"]).toContain(chunked)
        expect(rssMiB() - before).toBeLessThan(48)
        yield* stillServing(baseUrl)
      }), 60_000)

    it.effect("bodies just over the limit are refused, bodies under it accepted (declared and chunked)", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const padded = (size: number) => {
          const json = JSON.stringify({ content_type: "image/jpeg", content_length: 245_760, pad: "" })
          return Buffer.from(json.replace(`"pad":""`, `"pad":"${"x".repeat(size - json.length)}"`))
        }
        for (const declared of [true, false]) {
          const over = padded(16_385)
          const refused = yield* Effect.promise(() =>
            streamBody(`${baseUrl}/upload`, [over], declared ? { declaredLength: over.length } : {})
          )
          expectTooLarge(refused)
          const under = padded(16_384)
          const accepted = yield* Effect.promise(() =>
            streamBody(`${baseUrl}/upload`, [under], declared ? { declaredLength: under.length } : {})
          )
          expect(accepted.status).toBe(201)
        }
      }))
  })

  it.layer(makeEcsServer({ IMGPIPE_API_KEYS: KEY }), { timeout: 60_000 })(
    "JSON body limit (ECS API, API keys configured)",
    (it) => {
      it.effect("with a valid key a 600 MB body still gets 413 too_large", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const auth = { authorization: `Bearer ${KEY}` }
          expectTooLarge(yield* Effect.promise(() => streamBody(`${baseUrl}/upload`, chunks(HUGE), { headers: auth })))
          expectTooLarge(
            yield* Effect.promise(() =>
              streamBody(`${baseUrl}/upload`, chunks(HUGE), { headers: auth, declaredLength: HUGE })
            )
          )
          yield* stillServing(baseUrl, auth)
        }), 60_000)

      it.effect(
        "without a key a 600 MB body gets 401 at once and the connection is closed, not drained",
        () =>
          Effect.gen(function* () {
            const { baseUrl } = yield* EcsServer
            for (const declaredLength of [undefined, HUGE]) {
              const answer = yield* Effect.promise(() =>
                streamBody(`${baseUrl}/upload`, chunks(HUGE), declaredLength === undefined ? {} : { declaredLength })
              )
              expect(answer.status).toBe(401)
              expect(JSON.parse(answer.body)).toMatchObject({ error: "unauthorized" })
              expect(answer.headers["connection"]).toBe("close")
              expect(answer.elapsedMs).toBeLessThan(5_000)
              expect(answer.bytesSent).toBeLessThan(64 * MiB)
            }
            yield* stillServing(baseUrl, { authorization: `Bearer ${KEY}` })
          }),
        60_000
      )
    }
  )

  it.layer(makeEcsServer({ IMGPIPE_MAX_JSON_BODY_BYTES: "2048" }), { timeout: 60_000 })(
    "JSON body limit: IMGPIPE_MAX_JSON_BODY_BYTES",
    (it) => {
      it.effect("sets the limit", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const body = Buffer.from(
            JSON.stringify({ content_type: "image/jpeg", content_length: 1, pad: "x".repeat(3000) })
          )
          const answer = yield* Effect.promise(() =>
            streamBody(`${baseUrl}/upload`, [body], { declaredLength: body.length })
          )
          expect(answer.status).toBe(413)
          expect(JSON.parse(answer.body).message).toContain("2048 bytes")
        }))
    }
  )
})

describe("JSON body limit: configuration", () => {
  it.effect("a wrong IMGPIPE_MAX_JSON_BODY_BYTES is refused with a clear message", () =>
    Effect.gen(function* () {
      for (const value of ["lots", "12", "999999999"]) {
        const failure = yield* Effect.flip(
          Effect.withConfigProvider(
            maxJsonBodyBytesConfig,
            ConfigProvider.fromMap(new Map([["IMGPIPE_MAX_JSON_BODY_BYTES", value]]))
          )
        )
        expect(String(failure)).toContain("IMGPIPE_MAX_JSON_BODY_BYTES")
      }
      expect(yield* Effect.withConfigProvider(maxJsonBodyBytesConfig, ConfigProvider.fromMap(new Map()))).toBe(16_384)
    }))
})
