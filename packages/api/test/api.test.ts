/**
 * Contract tests of the HTTP layer: `makeHttpServer` over a real Node server on a random port,
 * called with `fetch`. The core services are core's in-memory test doubles (`@imgpipe/core/testing`:
 * a repository that follows the `ImageRepository` contract, a storage that signs deterministic URLs);
 * the end-to-end tests over the real database and storage live elsewhere.
 */
import { createServer } from "node:http"
import {
  FetchHttpClient,
  HttpApiBuilder,
  HttpApiClient,
  HttpServer,
  HttpServerRespondable,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { type ImageId, ImageRepository, type ImageSize, ObjectStorage } from "@imgpipe/core"
import { makeMemoryImages, makeMemoryStorage, makeTestService, testSettingsLayer } from "@imgpipe/core/testing"
import { Context, Effect, Layer, Logger, Option } from "effect"
import { Api } from "../src/Api.js"
import { UnsupportedType } from "../src/errors.js"
import { makeHttpServer } from "../src/Http.js"

// ---- doubles -------------------------------------------------------------------------------------

type RepositoryService = Context.Tag.Service<ImageRepository>

/**
 * Core's shared in-memory repository (idempotent like the real one, `state.pingFails` breaks `ping`)
 * and storage (deterministic signed URLs; `state.failDownloads` / `state.dieOnDownload` make the next
 * download fail typed or die, to check 503/500 answers leak nothing). The API only signs URLs: any
 * other storage method is unexpected here and dies.
 */
const makeDoubles = () => {
  const repository = makeMemoryImages()
  const storage = makeMemoryStorage()
  const storageService = makeTestService(ObjectStorage, {
    presignUpload: storage.service.presignUpload,
    presignDownload: storage.service.presignDownload
  })
  return {
    repository: { service: repository.repository, state: repository.state },
    storage: { service: storageService, state: storage.state }
  }
}

// ---- server harness ------------------------------------------------------------------------------

class TestServer extends Context.Tag("test/TestServer")<TestServer, { readonly baseUrl: string }>() {}

/** An error that renders its own response, as a raw route's may (e.g. a bad storage signature). */
class ForbiddenSignature {
  [HttpServerRespondable.symbol]() {
    return HttpServerResponse.text("signature expired", { status: 403 })
  }
}

/** Extra raw routes, registered the way the embedded runner registers its storage routes. */
const ExtraRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.all([
    router.get("/storage/ping", HttpServerResponse.text("storage routes live here")),
    router.get("/storage/expired", Effect.fail(new ForbiddenSignature())),
    router.get("/storage/broken", Effect.dieMessage("bug in a raw route"))
  ])
)

const makeHarness = (apiKeys: ReadonlyArray<string>) => {
  const { repository, storage } = makeDoubles()
  const logs: Array<string> = []
  const captureLogs = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
  )
  const serverLayer = Layer.effect(
    TestServer,
    HttpServer.addressWith((address) =>
      Effect.succeed({ baseUrl: address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : "" })
    )
  ).pipe(
    Layer.provideMerge(makeHttpServer({ routes: ExtraRoutes, logRequests: false })),
    Layer.provide(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })),
    Layer.provide(
      Layer.mergeAll(
        testSettingsLayer(apiKeys.length === 0 ? {} : { IMGPIPE_API_KEYS: apiKeys.join(",") }),
        Layer.succeed(ImageRepository, repository.service),
        Layer.succeed(ObjectStorage, storage.service)
      )
    ),
    Layer.provide(captureLogs)
  )
  return { repository, storage, logs, layer: serverLayer }
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

const call = (path: string, init: RequestInit = {}) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    const response = yield* Effect.promise(() => fetch(`${baseUrl}${path}`, { redirect: "manual", ...init }))
    const text = yield* Effect.promise(() => response.text())
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json } satisfies Answer
  })

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

/** Every error body is exactly `{ error, message }`, with a non-empty message, and is never cached. */
const expectError = (answer: Answer, status: number, code: string) => {
  expect(answer.status).toBe(status)
  expect(answer.json).toEqual({ error: code, message: expect.any(String) })
  const body = answer.json as { message: string }
  expect(body.message.length).toBeGreaterThan(0)
  expect(answer.headers.get("cache-control")).toBe("no-store")
  return body.message
}

const ID = {
  unknown: "0190f1a4-7a9b-7c3d-8e2f-000000000000",
  awaiting: "0190f1a4-7a9b-7c3d-8e2f-000000000001",
  allReady: "0190f1a4-7a9b-7c3d-8e2f-000000000002",
  mediumOnly: "0190f1a4-7a9b-7c3d-8e2f-000000000003",
  originalOnly: "0190f1a4-7a9b-7c3d-8e2f-000000000004",
  rejected: "0190f1a4-7a9b-7c3d-8e2f-000000000005"
} as const satisfies Record<string, string>

const asId = (id: string) => id as ImageId

/** Puts images in known states through the repository contract, as the processing code would. */
const seed = (repo: RepositoryService) =>
  Effect.gen(function*() {
    const create = (id: string) =>
      repo.create({
        id: asId(id),
        declaredContentType: "image/jpeg",
        declaredBytes: 123_456,
        uploadExpiresAt: new Date(Date.now() + 900_000)
      })
    const rendition = (id: string, size: ImageSize, width: number) =>
      repo.recordRendition(
        asId(id),
        size,
        { key: `${id}/${size}`, width, height: Math.round(width * 0.75), bytes: width * 10, contentType: "image/jpeg" },
        ["small", "medium", "large"]
      )
    yield* create(ID.awaiting)

    yield* create(ID.allReady)
    yield* repo.markUploaded([{ id: asId(ID.allReady), bytes: 123_456 }])
    yield* repo.recordOriginal(asId(ID.allReady), {
      format: "jpeg",
      contentType: "image/jpeg",
      width: 4000,
      height: 3000
    })
    yield* rendition(ID.allReady, "small", 320)
    yield* rendition(ID.allReady, "medium", 1024)
    yield* rendition(ID.allReady, "large", 2048)

    yield* create(ID.mediumOnly)
    yield* repo.markUploaded([{ id: asId(ID.mediumOnly), bytes: 123_456 }])
    yield* rendition(ID.mediumOnly, "medium", 1024)

    yield* create(ID.originalOnly)
    yield* repo.markUploaded([{ id: asId(ID.originalOnly), bytes: 123_456 }])

    yield* create(ID.rejected)
    yield* repo.markUploaded([{ id: asId(ID.rejected), bytes: 10 }])
    yield* repo.markRejected(asId(ID.rejected), { code: "not_an_image", message: "The file is not an image." })
  })

// ---- open server (no API keys) -------------------------------------------------------------------

const open = makeHarness([])

describe("imgpipe HTTP API (no API keys)", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    it.effect("logs that the API is open", () =>
      Effect.sync(() => {
        expect(open.logs).toContain("no API keys configured: the API is open")
      }))

    // -- POST /upload

    it.effect("POST /upload answers 201 with the ticket and creates the record", () =>
      Effect.gen(function*() {
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
      Effect.gen(function*() {
        const answer = yield* postJson("/upload", { content_type: "Image/PNG; charset=binary", content_length: 10 })
        expect(answer.status).toBe(201)
        expect((answer.json as { upload: { headers: unknown } }).upload.headers).toEqual({ "content-type": "image/png" })
      }))

    it.effect("POST /upload answers 400 bad_request for missing or invalid fields", () =>
      Effect.gen(function*() {
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
      Effect.gen(function*() {
        const broken = yield* postJson("/upload", "{\"content_type\": \"image/jpeg\",")
        expect(expectError(broken, 400, "bad_request")).toMatch(/JSON/)

        const empty = yield* postJson("/upload", "")
        expectError(empty, 400, "bad_request")
      }))

    it.effect("POST /upload answers 413 too_large over the limit", () =>
      Effect.gen(function*() {
        const atLimit = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 26_214_400 })
        expect(atLimit.status).toBe(201)
        const over = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 26_214_401 })
        expect(expectError(over, 413, "too_large")).toContain("26214400")
      }))

    it.effect("POST /upload answers 415 unsupported_type for HEIC, SVG and non-images", () =>
      Effect.gen(function*() {
        for (const contentType of ["image/heic", "image/svg+xml", "application/pdf"]) {
          const answer = yield* postJson("/upload", { content_type: contentType, content_length: 1000 })
          expectError(answer, 415, "unsupported_type")
        }
        const svg = yield* postJson("/upload", { content_type: "image/svg+xml", content_length: 1000 })
        expect((svg.json as { message: string }).message).toMatch(/SVG/)
      }))

    // -- GET /get_image

    it.effect("seeds images in every state", () => seed(open.repository.service))

    it.effect("GET /get_image answers 400 bad_request for missing or invalid parameters", () =>
      Effect.gen(function*() {
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
      Effect.gen(function*() {
        expectError(yield* call(`/get_image?image_id=${ID.unknown}&image_size=small`), 404, "not_found")
        expectError(yield* call(`/get_image?image_id=${ID.awaiting}&image_size=small`), 404, "not_found")
      }))

    it.effect("GET /get_image answers 422 with the rejection code as error", () =>
      Effect.gen(function*() {
        const answer = yield* call(`/get_image?image_id=${ID.rejected}&image_size=small`)
        expect(answer.status).toBe(422)
        expect(answer.json).toEqual({ error: "not_an_image", message: "The file is not an image." })
      }))

    it.effect("GET /get_image redirects to the exact size with a bounded cache lifetime", () =>
      Effect.gen(function*() {
        for (const size of ["small", "medium", "large"] as const) {
          const answer = yield* call(`/get_image?image_id=${ID.allReady}&image_size=${size}`)
          expect(answer.status).toBe(302)
          expect(answer.headers.get("location")).toBe(`https://storage.test/processed/${ID.allReady}/${size}?signature=test`)
          expect(answer.headers.get("x-image-size")).toBe(size)
          expect(answer.headers.get("cache-control")).toBe("public, max-age=300")
          expect(answer.headers.get("vary")).toBe("Accept")
        }
      }))

    it.effect("GET /get_image accepts an upper-case id", () =>
      Effect.gen(function*() {
        const answer = yield* call(`/get_image?image_id=${ID.allReady.toUpperCase()}&image_size=small`)
        expect(answer.status).toBe(302)
        expect(answer.headers.get("x-image-size")).toBe("small")
      }))

    it.effect("GET /get_image falls back to another size, then the original, and forbids caching", () =>
      Effect.gen(function*() {
        const otherSize = yield* call(`/get_image?image_id=${ID.mediumOnly}&image_size=small`)
        expect(otherSize.status).toBe(302)
        expect(otherSize.headers.get("location")).toBe(`https://storage.test/processed/${ID.mediumOnly}/medium?signature=test`)
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
      Effect.gen(function*() {
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

    // -- GET /images/{image_id}

    it.effect("GET /images/{image_id} describes the image, its original and every size", () =>
      Effect.gen(function*() {
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
          created_at: expect.any(String),
          updated_at: expect.any(String)
        })

        const awaiting = yield* call(`/images/${ID.awaiting}`)
        expect(awaiting.json).toMatchObject({ status: "awaiting_upload", original: null })

        const ready = yield* call(`/images/${ID.allReady}`)
        expect(ready.json).toMatchObject({
          status: "ready",
          original: { content_type: "image/jpeg", bytes: 123_456, width: 4000, height: 3000, format: "jpeg" }
        })

        const rejected = yield* call(`/images/${ID.rejected}`)
        expect(rejected.json).toMatchObject({
          status: "failed",
          error: { code: "not_an_image", message: "The file is not an image." },
          renditions: { small: { status: "failed" }, medium: { status: "failed" }, large: { status: "failed" } }
        })
      }))

    it.effect("GET /images/{image_id} answers 400 for a bad id and 404 for an unknown one", () =>
      Effect.gen(function*() {
        expect(expectError(yield* call("/images/not-a-uuid"), 400, "bad_request")).toBe(
          "image_id must be an image id (a UUID)"
        )
        expectError(yield* call(`/images/${ID.unknown}`), 404, "not_found")
      }))

    // -- failures of the backing services

    it.effect("a failing store answers 503 unavailable without leaking details", () =>
      Effect.gen(function*() {
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
      Effect.gen(function*() {
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

    // -- system routes

    it.effect("GET /health answers 200 ok; GET /ready follows the database", () =>
      Effect.gen(function*() {
        const health = yield* call("/health")
        expect(health.status).toBe(200)
        expect(health.json).toEqual({ status: "ok" })

        const ready = yield* call("/ready")
        expect(ready.status).toBe(200)
        expect(ready.json).toEqual({ status: "ok" })

        open.repository.state.pingFails = true
        const notReady = yield* call("/ready").pipe(
          Effect.ensuring(Effect.sync(() => {
            open.repository.state.pingFails = false
          }))
        )
        expectError(notReady, 503, "not_ready")
        expect(notReady.text).not.toMatch(/10\.0\.0\.5|refused/)

        expect((yield* call("/ready")).status).toBe(200)
      }))

    it.effect("an unknown route answers 404 not_found as JSON", () =>
      Effect.gen(function*() {
        expectError(yield* call("/nope"), 404, "not_found")
        expectError(yield* call("/health", { method: "DELETE" }), 404, "not_found")
      }))

    it.effect("extra raw routes are served by the same server", () =>
      Effect.gen(function*() {
        const answer = yield* call("/storage/ping")
        expect(answer.status).toBe(200)
        expect(answer.text).toBe("storage routes live here")
        // A raw route's own respondable error keeps its response; a defect gets the common 500 body.
        const expired = yield* call("/storage/expired")
        expect(expired.status).toBe(403)
        expect(expired.text).toBe("signature expired")
        expectError(yield* call("/storage/broken"), 500, "internal_error")
      }))

    it.effect("GET /openapi.json documents every endpoint and the real error body", () =>
      Effect.gen(function*() {
        const answer = yield* call("/openapi.json")
        expect(answer.status).toBe(200)
        const spec = answer.json as {
          info: { title: string; version: string; description?: string }
          paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters: Array<{ name: string; in: string; required: boolean }> }>>
          components: { schemas: Record<string, unknown> }
        }
        expect(spec.info.title).toBe("imgpipe")
        expect(spec.info.description).toBeDefined()
        expect(Object.keys(spec.paths).sort()).toEqual(
          ["/docs", "/get_image", "/health", "/images/{image_id}", "/openapi.json", "/ready", "/upload"]
        )
        expect(Object.keys(spec.paths["/upload"] ?? {})).toEqual(["post"])
        expect(Object.keys(spec.paths["/get_image"]?.["get"]?.responses ?? {}).sort()).toEqual(
          ["200", "302", "400", "404", "422", "500", "503"]
        )
        expect(Object.keys(spec.paths["/upload"]?.["post"]?.responses ?? {}).sort()).toEqual(
          ["201", "400", "401", "413", "415", "500", "503"]
        )
        expect(spec.paths["/get_image"]?.["get"]?.parameters).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ name: "image_id", in: "query", required: true }),
            expect.objectContaining({ name: "image_size", in: "query", required: true })
          ])
        )
        expect(spec.components.schemas["BadRequestError"]).toMatchObject({
          type: "object",
          required: ["error", "message"],
          properties: { error: { enum: ["bad_request"] } }
        })
        // The framework's own decode error never reaches a client, so it is not documented.
        expect(answer.text).not.toContain("HttpApiDecodeError")
      }))

    it.effect("GET /docs serves a self-contained HTML page", () =>
      Effect.gen(function*() {
        const answer = yield* call("/docs")
        expect(answer.status).toBe(200)
        expect(answer.headers.get("content-type")).toMatch(/^text\/html/)
        expect(answer.text).toContain("swagger-ui")
        expect(answer.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/)
      }))

    it.effect("a typed HttpApiClient shares the contract and decodes errors into their classes", () =>
      Effect.gen(function*() {
        const { baseUrl } = yield* TestServer
        const client = yield* HttpApiClient.make(Api, { baseUrl })
        expect(yield* client.system.health()).toEqual({ status: "ok" })
        const ticket = yield* client.images.upload({ payload: { content_type: "image/webp", content_length: 99 } })
        expect(ticket.upload.headers).toEqual({ "content-type": "image/webp" })
        const refused = yield* client.images.upload({ payload: { content_type: "image/heic", content_length: 99 } }).pipe(
          Effect.flip
        )
        expect(refused).toBeInstanceOf(UnsupportedType)
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
})

// ---- server with API keys ------------------------------------------------------------------------

const keyed = makeHarness(["first-key-0123456789", "second-key-abcdefghij"])

describe("imgpipe HTTP API (API keys configured)", () => {
  layer(keyed.layer, { excludeTestServices: true })((it) => {
    it.effect("logs that keys are configured, never the keys", () =>
      Effect.sync(() => {
        expect(open.logs.join("\n")).not.toContain("key-")
        expect(keyed.logs.some((line) => line.includes("2 API key(s) configured"))).toBe(true)
        expect(keyed.logs.join("\n")).not.toMatch(/first-key|second-key/)
      }))

    it.effect("POST /upload answers 401 unauthorized without a key or with a wrong one", () =>
      Effect.gen(function*() {
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
      Effect.gen(function*() {
        const body = { content_type: "image/jpeg", content_length: 10 }
        for (const key of ["first-key-0123456789", "second-key-abcdefghij"]) {
          const answer = yield* postJson("/upload", body, { authorization: `Bearer ${key}` })
          expect(answer.status).toBe(201)
        }
      }))

    it.effect("GET /images/{image_id} needs a key; get_image, health, ready, docs stay public", () =>
      Effect.gen(function*() {
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
