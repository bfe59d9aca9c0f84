/**
 * The implementation of the contract in `Api.ts`: thin handlers (parse → core use case → map the
 * result and errors), assembled with the bearer-key middleware (`authorization.ts`), the error
 * mapping (`errorMapping.ts`), the OpenAPI document and docs page into a server layer.
 *
 * Nothing here picks an implementation: `ApiLive` needs the core service tags (`Settings`,
 * `ImageRepository`, `ObjectStorage`) and each runtime's `layers.ts` provides them.
 */
import {
  type HttpApi,
  HttpApiBuilder,
  HttpApiSwagger,
  type HttpApp,
  type HttpRouter,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import {
  DatabaseError,
  getImage,
  getStatus,
  ImageId,
  type ImageSize,
  type ImageStatusView,
  ImageRepository,
  ObjectStorage,
  QueueError,
  requestUpload,
  type ServedImage,
  Settings,
  StorageError,
  type UploadTicket
} from "@imgpipe/core"
import { Clock, Config, type ConfigError, Effect, Layer, LogLevel, Option } from "effect"
import {
  Api,
  BadRequest,
  type ImageStatusBody,
  NotFound,
  Rejected,
  ServedImageBody,
  TooLarge,
  Unavailable,
  UnsupportedType,
  type UploadTicketBody
} from "./Api.js"
import { AuthorizationLive } from "./authorization.js"
import { BodyLimitLive } from "./bodyLimit.js"
import { type CorsDefault, corsMiddleware, corsOriginsConfig, describeCorsPolicy, resolveCorsPolicy } from "./cors.js"
import { ErrorMappingLive } from "./errorMapping.js"
import { requestLog } from "./requestLog.js"
import { SystemLive } from "./system.js"

export { AuthorizationLive } from "./authorization.js"
export { describeDecodeError, ErrorMappingLive } from "./errorMapping.js"
export { SystemLive } from "./system.js"

// ---- shared mapping helpers --------------------------------------------------------------------

/** Ids are stored lowercase; the UUID pattern accepts either case, so normalise before lookup. */
const normalizeId = (id: ImageId): ImageId => ImageId.make(id.toLowerCase())

type InfrastructureError = DatabaseError | StorageError | QueueError

const isInfrastructureError = <E>(error: E): error is Extract<E, InfrastructureError> =>
  error instanceof DatabaseError || error instanceof StorageError || error instanceof QueueError

/**
 * A failing database or store is logged with its details (operation, key, driver message) and
 * reported to the client as a bare 503: internals never reach the response.
 */
const unavailableOnInfrastructureError = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, Extract<E, InfrastructureError>> | Unavailable, R> =>
  Effect.catchIf(self, isInfrastructureError, (error) =>
    Effect.logError("backing service failed", error).pipe(
      Effect.zipRight(
        Effect.fail(new Unavailable({ message: "A backing service is unavailable. Retry in a few seconds." }))
      )
    ))

// ---- images: upload and status ------------------------------------------------------------------

const toUploadTicketBody = (ticket: UploadTicket): typeof UploadTicketBody.Type => ({
  image_id: ticket.imageId,
  upload: { method: ticket.upload.method, url: ticket.upload.url, headers: ticket.upload.headers },
  expires_at: ticket.expiresAt
})

const toImageStatusBody = ({ image, renditions }: ImageStatusView): typeof ImageStatusBody.Type => {
  // A rejected image never gets renditions: say "failed" rather than leave them "pending" forever.
  // (`processing_failed` is not final: a later redelivery may still produce the size.)
  const rejected = image.status === "failed" && image.errorCode !== null && image.errorCode !== "processing_failed"
  const rendition = (size: ImageSize): typeof ImageStatusBody.Type["renditions"][ImageSize] => {
    const row = Option.getOrNull(
      renditions.find((r) => r.size === size)?.rendition ?? Option.none()
    )
    return row === null
      ? { status: rejected ? "failed" : "pending", width: null, height: null, bytes: null, content_type: null }
      : { status: row.status, width: row.width, height: row.height, bytes: row.bytes, content_type: row.contentType }
  }
  const arrived = image.originalBytes !== null || image.originalContentType !== null
  return {
    image_id: image.id,
    status: image.status,
    original: arrived
      ? {
        content_type: image.originalContentType ?? image.declaredContentType,
        bytes: image.originalBytes,
        width: image.originalWidth,
        height: image.originalHeight,
        format: image.originalFormat
      }
      : null,
    renditions: { small: rendition("small"), medium: rendition("medium"), large: rendition("large") },
    ...(image.errorCode === null
      ? {}
      : { error: { code: image.errorCode, message: image.errorMessage ?? "The image could not be processed." } }),
    created_at: image.createdAt,
    updated_at: image.updatedAt
  }
}

export const ImagesLive = HttpApiBuilder.group(Api, "images", (handlers) =>
  handlers
    .handle("upload", ({ payload }) =>
      requestUpload({ contentType: payload.content_type, contentLength: payload.content_length }).pipe(
        Effect.map(toUploadTicketBody),
        Effect.catchTags({
          InvalidRequest: (e) => Effect.fail(new BadRequest({ message: e.message })),
          PayloadTooLarge: (e) => Effect.fail(new TooLarge({ message: e.message })),
          UnsupportedMediaType: (e) => Effect.fail(new UnsupportedType({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      ))
    .handle("status", ({ path }) =>
      getStatus(normalizeId(path.image_id)).pipe(
        Effect.map(toImageStatusBody),
        Effect.catchTags({ ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message })) }),
        unavailableOnInfrastructureError
      )))

// ---- delivery: get_image ------------------------------------------------------------------------

/**
 * Cache policy of `get_image` (redirect and JSON alike):
 * - fallback (served ≠ requested): `no-store`. The requested size may be ready seconds later, and a
 *   cached fallback would keep serving the wrong size.
 * - exact: `public, max-age=N` with N = min(300 s, a quarter of the signed URL's remaining life).
 *   With the default 3600 s URLs that is 300 s, so whoever follows a cached answer still holds a
 *   URL valid for ≥ 45 minutes; it stays correct if the URL lifetime is configured much shorter.
 *   Under one second left → `no-store`.
 */
export const EXACT_MAX_AGE_SECONDS = 300
export const FALLBACK_CACHE_CONTROL = "no-store"

export const cacheControlFor = (served: Pick<ServedImage, "fallback" | "expiresAt">, nowMillis: number): string => {
  if (served.fallback) return FALLBACK_CACHE_CONTROL
  const remaining = Math.floor((served.expiresAt.getTime() - nowMillis) / 1000)
  const maxAge = Math.min(EXACT_MAX_AGE_SECONDS, Math.floor(remaining / 4))
  return maxAge >= 1 ? `public, max-age=${maxAge}` : FALLBACK_CACHE_CONTROL
}

/** True when any `application/json` media range is acceptable (q > 0); `*` wildcards keep the redirect. */
export const wantsJson = (accept: string | undefined): boolean =>
  accept !== undefined &&
  accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase())
    if (type !== "application/json") return false
    const q = params.find((param) => param.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  })

const toServedImageBody = (served: ServedImage): typeof ServedImageBody.Type => ({
  image_id: served.imageId,
  requested_size: served.requestedSize,
  served_size: served.servedSize,
  url: served.url,
  content_type: served.contentType,
  width: served.width,
  height: served.height,
  bytes: served.bytes,
  expires_at: served.expiresAt
})

const encodeServedImage = HttpServerResponse.schemaJson(ServedImageBody)

const deliveryResponse = (served: ServedImage, asJson: boolean) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const headers = {
      "x-image-size": served.servedSize,
      "cache-control": cacheControlFor(served, now),
      // The same URL answers JSON or a redirect depending on Accept; caches must keep them apart.
      vary: "Accept"
    }
    return asJson
      // Encoding our own decoded value cannot fail unless the schema and the code disagree: a bug.
      ? yield* Effect.orDie(encodeServedImage(toServedImageBody(served), { headers }))
      : HttpServerResponse.redirect(served.url, { status: 302, headers })
  })

export const DeliveryLive = HttpApiBuilder.group(Api, "delivery", (handlers) =>
  handlers.handle("getImage", ({ headers, urlParams }) =>
    getImage({ imageId: normalizeId(urlParams.image_id), size: urlParams.image_size }).pipe(
      Effect.flatMap((served) => deliveryResponse(served, wantsJson(headers.accept))),
      Effect.catchTags({
        ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
        ImageRejected: (e) => Effect.fail(new Rejected({ code: e.code, message: e.message }))
      }),
      unavailableOnInfrastructureError
    )))

// ---- composition ---------------------------------------------------------------------------------

/**
 * The whole API on `HttpApiBuilder.Router`: endpoints, auth, error mapping, `GET /openapi.json`
 * and `GET /docs`. Swagger UI is used because `HttpApiSwagger.layer` inlines its script and CSS in
 * the page (no CDN: the docs work on a machine without internet). Needs only core service tags.
 */
export const ApiLive: Layer.Layer<HttpApi.Api, never, Settings | ImageRepository | ObjectStorage> = Layer.mergeAll(
  HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
  HttpApiSwagger.layer({ path: "/docs" }),
  ErrorMappingLive
).pipe(
  Layer.provideMerge(HttpApiBuilder.api(Api)),
  Layer.provide([ImagesLive, DeliveryLive, SystemLive]),
  Layer.provide(AuthorizationLive)
)

/** `IMGPIPE_LOG_LEVEL`: DEBUG, INFO (default), WARN or ERROR. */
export const logLevelConfig = Config.logLevel("IMGPIPE_LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))

export interface HttpServerOptions<E, R> {
  /**
   * Extra routes served by the same server, outside the contract (e.g. the embedded runner's
   * local storage). Build them with `HttpApiBuilder.Router.use((router) => router.put(...))`; they
   * share the error mapping, CORS, the request log and the port. A route that streams its body
   * (`request.source` or `request.stream`) is not held to the JSON body limit.
   */
  readonly routes?: Layer.Layer<never, E, R> | undefined
  /**
   * One log line per request (see `requestLog.ts`). Default: when `IMGPIPE_LOG_LEVEL` lets INFO
   * through. Above INFO the middleware is left out rather than filtered per request: building
   * each request's log context costs CPU even when nothing is printed.
   */
  readonly logRequests?: boolean | undefined
  /**
   * CORS when `IMGPIPE_CORS_ORIGINS` is not set: `"*"` allows any origin while no API key is
   * configured (the embedded runner), `"off"` (the default) allows none (the ECS entry).
   */
  readonly corsDefault?: CorsDefault | undefined
}

/** The settings of the server itself, read once at start-up; a wrong value stops the start. */
const serverConfig = Config.all({
  logLevel: logLevelConfig.pipe(Config.orElse(() => Config.succeed(LogLevel.Info))),
  corsOrigins: corsOriginsConfig
})

/**
 * Serves `ApiLive` (plus `routes`) on whatever `HttpServer` is provided, e.g.
 * `NodeHttpServer.layer(createServer, { port })`, and logs the address it listens on.
 *
 * Middleware, outermost first: the request log, CORS (preflights answered before anything else,
 * headers on every answer including errors and raw routes), then on the router the JSON body
 * limit (`BodyLimitLive`) and the error mapping.
 */
export const makeHttpServer = <E = never, R = never>(
  options: HttpServerOptions<E, R> = {}
): Layer.Layer<
  never,
  E | ConfigError.ConfigError,
  HttpServer.HttpServer | HttpRouter.HttpRouter.DefaultServices | Settings | ImageRepository | ObjectStorage | R
> => {
  const routes: Layer.Layer<never, E, R> = options.routes ?? Layer.empty
  return Layer.unwrapEffect(
    Effect.gen(function*() {
      const config = yield* serverConfig
      const { apiKeys } = yield* Settings
      const cors = resolveCorsPolicy(config.corsOrigins, options.corsDefault ?? "off", apiKeys.length > 0)
      yield* Effect.logInfo(describeCorsPolicy(cors, Option.isSome(config.corsOrigins)))
      const logRequests = options.logRequests ?? LogLevel.lessThanEqual(config.logLevel, LogLevel.Info)
      const middleware = (app: HttpApp.Default) => {
        const served = corsMiddleware(cors)(app)
        return logRequests ? requestLog(served) : served
      }
      return HttpApiBuilder.serve(middleware).pipe(
        Layer.provide(routes),
        Layer.provide(Layer.merge(ApiLive, BodyLimitLive)),
        HttpServer.withLogAddress
      )
    })
  )
}
