/**
 * The HTTP contract tests' harness: `makeHttpServer` over a real Node server on a random port,
 * called with `fetch`. The core services are core's in-memory test doubles (`@imgpipe/core/testing`:
 * a repository that follows the `ImageRepository` contract, a storage that signs deterministic URLs);
 * the end-to-end tests over the real database and storage live elsewhere.
 */
import { HttpApiBuilder, HttpServer, HttpServerRespondable, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect } from "@effect/vitest"
import {
  deliverySettingsLayer,
  type DeliverySettingsShape,
  type ImageId,
  ImageRepository,
  type ImageSize,
  JobQueue,
  ObjectStorage
} from "@imgpipe/core"
import { AdminRepository } from "@imgpipe/core/services/AdminRepository"
import { QueueAdmin } from "@imgpipe/core/services/QueueAdmin"
import {
  makeMemoryImages,
  makeMemoryStorage,
  makeTestLayer,
  makeTestService,
  memoryChangeFeedLayer,
  testSettingsLayer
} from "@imgpipe/core/testing"
import { Context, Effect, Layer, Logger } from "effect"
import { createServer } from "node:http"
import { AdminAuthorizationKeys } from "../../src/authorization.js"
import { makeHttpServer } from "../../src/Http.js"

// ---- doubles -------------------------------------------------------------------------------------

export type RepositoryService = Context.Tag.Service<ImageRepository>

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

export class TestServer extends Context.Tag("test/TestServer")<TestServer, { readonly baseUrl: string }>() {}

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

/** The CDN base of the harness's default `cdn` delivery. */
export const TEST_CDN_URL = "https://cdn.test"

export interface HarnessOptions {
  /** `IMGPIPE_DELIVERY` and its URL: `cdn` at `TEST_CDN_URL` unless given. */
  readonly delivery?: DeliverySettingsShape
}

export const makeHarness = (apiKeys: ReadonlyArray<string>, options: HarnessOptions = {}) => {
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
    // The admin group's services die if called: the admin API is tested over the real tables
    // (packages/local/test/admin.test.ts); here only its policy (off without IMGPIPE_ADMIN_KEYS) runs.
    Layer.provide(Layer.mergeAll(
      AdminAuthorizationKeys,
      makeTestLayer(AdminRepository)({}),
      makeTestLayer(QueueAdmin)({}),
      makeTestLayer(JobQueue)({})
    )),
    Layer.provide(
      Layer.mergeAll(
        testSettingsLayer(apiKeys.length === 0 ? {} : { IMGPIPE_API_KEYS: apiKeys.join(",") }),
        deliverySettingsLayer(options.delivery ?? { mode: "cdn", cdnUrl: TEST_CDN_URL }),
        Layer.succeed(ImageRepository, repository.service),
        Layer.succeed(ObjectStorage, storage.service),
        memoryChangeFeedLayer().pipe(Layer.provide(Layer.succeed(ImageRepository, repository.service)))
      )
    ),
    Layer.provide(captureLogs)
  )
  return { repository, storage, logs, layer: serverLayer }
}

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

export const call = (path: string, init: RequestInit = {}) =>
  Effect.gen(function* () {
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

export const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

/** Every error body is exactly `{ error, message }`, with a non-empty message, and is never cached. */
export const expectError = (answer: Answer, status: number, code: string) => {
  expect(answer.status).toBe(status)
  expect(answer.json).toEqual({ error: code, message: expect.any(String) })
  const body = answer.json as { message: string }
  expect(body.message.length).toBeGreaterThan(0)
  expect(answer.headers.get("cache-control")).toBe("no-store")
  return body.message
}

export const ID = {
  unknown: "0190f1a4-7a9b-7c3d-8e2f-000000000000",
  awaiting: "0190f1a4-7a9b-7c3d-8e2f-000000000001",
  allReady: "0190f1a4-7a9b-7c3d-8e2f-000000000002",
  mediumOnly: "0190f1a4-7a9b-7c3d-8e2f-000000000003",
  originalOnly: "0190f1a4-7a9b-7c3d-8e2f-000000000004",
  rejected: "0190f1a4-7a9b-7c3d-8e2f-000000000005"
} as const satisfies Record<string, string>

export const asId = (id: string) => id as ImageId

/** The placeholder the seeded images' small size brings. */
export const SEED_PLACEHOLDER = {
  thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI",
  dominantColor: "#5a7d3c",
  width: 100,
  height: 75
} as const

/**
 * Puts images in known states through the repository contract, as the processing code would:
 * `allReady` has every size with WebP and AVIF extras and a placeholder; `mediumOnly` one size and
 * no extras; `originalOnly` just its original.
 */
export const seed = (repo: RepositoryService) =>
  Effect.gen(function* () {
    const create = (id: string) =>
      repo.create({
        id: asId(id),
        declaredContentType: "image/jpeg",
        declaredBytes: 123_456,
        uploadExpiresAt: new Date(Date.now() + 900_000)
      })
    /** A JPEG baseline and the `extras` (bytes: the baseline's 60 % for WebP, 40 % for AVIF). */
    const rendition = (id: string, size: ImageSize, width: number, extras: ReadonlyArray<"webp" | "avif"> = []) =>
      repo.recordRendition(
        asId(id),
        size,
        {
          key: `${id}/${size}`,
          width,
          height: Math.round(width * 0.75),
          bytes: width * 10,
          contentType: "image/jpeg",
          variants: extras.map((format) => ({
            format,
            key: `${id}/${size}.${format}`,
            bytes: width * (format === "webp" ? 6 : 4),
            contentType: `image/${format}`
          })),
          ...(size === "small" ? { placeholder: SEED_PLACEHOLDER } : {})
        },
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
    yield* rendition(ID.allReady, "small", 320, ["webp", "avif"])
    yield* rendition(ID.allReady, "medium", 1024, ["webp", "avif"])
    yield* rendition(ID.allReady, "large", 2048, ["webp", "avif"])

    yield* create(ID.mediumOnly)
    yield* repo.markUploaded([{ id: asId(ID.mediumOnly), bytes: 123_456 }])
    yield* rendition(ID.mediumOnly, "medium", 1024)

    yield* create(ID.originalOnly)
    yield* repo.markUploaded([{ id: asId(ID.originalOnly), bytes: 123_456 }])

    yield* create(ID.rejected)
    yield* repo.markUploaded([{ id: asId(ID.rejected), bytes: 10 }])
    yield* repo.markRejected(asId(ID.rejected), { code: "not_an_image", message: "The file is not an image." })
  })
