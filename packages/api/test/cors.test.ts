/**
 * CORS (issue 9, newcomer item): a browser app on another origin can call the API. Preflights are
 * answered, `Authorization`, `Content-Type` and `If-None-Match` allowed, `X-Image-Size`, `ETag`
 * and `Location` exposed. Off in the ECS entry unless `IMGPIPE_CORS_ORIGINS` is set; `*` by default
 * in the embedded runner while no API key is set (`corsDefault: "*"`). Over real servers.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option } from "effect"
import { corsOriginsConfig, parseCorsOrigins } from "../src/cors.js"
import { EcsServer, makeEcsServer, TestDatabase } from "./support/ecs.js"

const APP = "https://app.example.com"
const FOREIGN = "https://evil.example.net"

const preflight = (
  baseUrl: string,
  path: string,
  origin: string,
  method = "POST",
  headers = "authorization,content-type"
) =>
  Effect.promise(() =>
    fetch(`${baseUrl}${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers }
    })
  )

const uploadFrom = (baseUrl: string, origin: string) =>
  Effect.promise(() =>
    fetch(`${baseUrl}/upload`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ content_type: "image/jpeg", content_length: 245_760 })
    })
  )

const allowedHeaders = (response: Response) =>
  (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/)

layer(TestDatabase, { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.layer(makeEcsServer({ IMGPIPE_CORS_ORIGINS: `${APP}, http://localhost:5173/` }, { corsDefault: "off" }), {
    timeout: 60_000
  })("CORS: the ECS entry with IMGPIPE_CORS_ORIGINS set to a list", (it) => {
    it.effect("a preflight from a listed origin is answered with the allowed headers and methods", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const answer = yield* preflight(baseUrl, "/upload", APP)
        expect(answer.status).toBe(204)
        expect(answer.headers.get("access-control-allow-origin")).toBe(APP)
        expect(answer.headers.get("vary")).toContain("Origin")
        expect(allowedHeaders(answer)).toEqual(
          expect.arrayContaining(["authorization", "content-type", "if-none-match"])
        )
        expect(answer.headers.get("access-control-allow-methods")).toContain("POST")
        // The trailing slash of the configured origin is forgiven.
        const local = yield* preflight(baseUrl, "/upload", "http://localhost:5173")
        expect(local.headers.get("access-control-allow-origin")).toBe("http://localhost:5173")
      }))

    it.effect("the actual request carries Access-Control-Allow-Origin and the exposed headers", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const answer = yield* uploadFrom(baseUrl, APP)
        expect(answer.status).toBe(201)
        expect(answer.headers.get("access-control-allow-origin")).toBe(APP)
        const exposed = (answer.headers.get("access-control-expose-headers") ?? "").toLowerCase()
        for (const header of ["x-image-size", "etag", "location"]) expect(exposed).toContain(header)
        // Error answers too, or the browser app could not read why it was refused.
        const refused = yield* Effect.promise(() => fetch(`${baseUrl}/images/not-an-id`, { headers: { origin: APP } }))
        expect(refused.status).toBe(400)
        expect(refused.headers.get("access-control-allow-origin")).toBe(APP)
      }))

    it.effect("a foreign origin gets no Access-Control-Allow-Origin, on the preflight or the request", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const answer = yield* preflight(baseUrl, "/upload", FOREIGN)
        expect(answer.headers.get("access-control-allow-origin")).toBeNull()
        const upload = yield* uploadFrom(baseUrl, FOREIGN)
        expect(upload.headers.get("access-control-allow-origin")).toBeNull()
      }))
  })

  it.layer(makeEcsServer({}, { corsDefault: "off" }), { timeout: 60_000 })("CORS: the ECS entry by default", (it) => {
    it.effect("is off: no preflight answer, no CORS headers", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const answer = yield* preflight(baseUrl, "/upload", APP)
        expect(answer.status).toBe(404)
        expect(answer.headers.get("access-control-allow-origin")).toBeNull()
        const upload = yield* uploadFrom(baseUrl, APP)
        expect(upload.status).toBe(201)
        expect(upload.headers.get("access-control-allow-origin")).toBeNull()
      }))
  })

  it.layer(makeEcsServer({}, { corsDefault: "*" }), { timeout: 60_000 })(
    "CORS: corsDefault \"*\" (the embedded runner's default)",
    (it) => {
      it.effect("any origin may call the open API", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const answer = yield* preflight(baseUrl, "/upload", FOREIGN)
          expect(answer.status).toBe(204)
          expect(answer.headers.get("access-control-allow-origin")).toBe("*")
          expect((yield* uploadFrom(baseUrl, FOREIGN)).headers.get("access-control-allow-origin")).toBe("*")
        }))
    }
  )

  it.layer(makeEcsServer({ IMGPIPE_API_KEYS: "cors-key-0123456789" }, { corsDefault: "*" }), { timeout: 60_000 })(
    "CORS: corsDefault \"*\" (the embedded runner's default)",
    (it) => {
      it.effect("is off once API keys are configured (list the app origins instead)", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* EcsServer
          const answer = yield* preflight(baseUrl, "/upload", FOREIGN)
          expect(answer.headers.get("access-control-allow-origin")).toBeNull()
        }))
    }
  )
})

describe("IMGPIPE_CORS_ORIGINS parsing", () => {
  it("accepts *, off and origin lists; refuses what is not an origin, naming it", () => {
    expect(parseCorsOrigins("*")).toEqual(Either.right({ _tag: "AnyOrigin" }))
    expect(parseCorsOrigins(" off ")).toEqual(Either.right({ _tag: "Off" }))
    expect(parseCorsOrigins("https://a.example, http://localhost:3000/")).toEqual(
      Either.right({ _tag: "Origins", origins: ["https://a.example", "http://localhost:3000"] })
    )
    for (const bad of ["a.example", "https://a.example/path", "ftp://a.example", "https://a.example,*"]) {
      const parsed = parseCorsOrigins(bad)
      expect(Either.isLeft(parsed)).toBe(true)
      expect(Either.getLeft(parsed).pipe(Option.getOrElse(() => ""))).toContain("IMGPIPE_CORS_ORIGINS must be")
    }
  })

  it.effect("a wrong value fails the configuration with that message", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(
        Effect.withConfigProvider(
          corsOriginsConfig,
          ConfigProvider.fromMap(new Map([["IMGPIPE_CORS_ORIGINS", "app.example.com"]]))
        )
      )
      expect(String(failure)).toContain("not an origin: app.example.com")
    }))
})
