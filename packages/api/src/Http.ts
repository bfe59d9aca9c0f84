/**
 * The implementation of the contract in `Api.ts`: thin handlers (parse → core use case → map the
 * result and errors), the bearer-key middleware, the error mapping that keeps every error body
 * `{ error, message }`, the OpenAPI document and docs page, and a server layer.
 *
 * Nothing here picks an implementation: `ApiLive` needs the core service tags (`Settings`,
 * `ImageRepository`, `ObjectStorage`) and each runtime's `layers.ts` provides them.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import {
  type HttpApi,
  HttpApiBuilder,
  HttpApiError,
  HttpApiSchema,
  HttpApiSwagger,
  HttpApp,
  HttpMiddleware,
  type HttpRouter,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
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
import { Cause, Clock, Config, type ConfigError, Duration, Effect, Layer, LogLevel, Option, Redacted, Schema } from "effect"
import { BodyLimitLive, bodyTooLargeOf } from "./bodyLimit.js"
import { type CorsDefault, corsMiddleware, corsOriginsConfig, describeCorsPolicy, resolveCorsPolicy } from "./cors.js"
import { probeOpenFiles } from "./openFiles.js"
import { redactSignatures, requestLog } from "./requestLog.js"
import {
  Api,
  apiErrorClasses,
  Authorization,
  BadRequest,
  ErrorBody,
  type ImageStatusBody,
  InternalError,
  NotFound,
  NotReady,
  Rejected,
  ServedImageBody,
  TooLarge,
  Unauthorized,
  Unavailable,
  UnsupportedType,
  type UploadTicketBody
} from "./Api.js"

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

// ---- system: health and readiness ---------------------------------------------------------------

/** A hung connection must not hang the load balancer's probe. */
const READY_TIMEOUT = Duration.seconds(3)

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  handlers
    // Probes arrive every few seconds per target: keep them out of the request log.
    .handle("health", () => HttpMiddleware.withLoggerDisabled(Effect.succeed({ status: "ok" as const })))
    .handle("ready", () =>
      Effect.gen(function*() {
        const repo = yield* ImageRepository
        // At the open-files limit every download fails while the database answers fine.
        yield* probeOpenFiles.pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("not ready: the process cannot open files", { code: error.code }).pipe(
              Effect.zipRight(Effect.fail(new NotReady({ message: error.message })))
            )
          )
        )
        return yield* repo.ping.pipe(
          Effect.timeoutFail({
            duration: READY_TIMEOUT,
            onTimeout: () => new DatabaseError({ operation: "ping", message: "no answer within 3 seconds" })
          }),
          Effect.as({ status: "ok" as const }),
          Effect.catchAll((error) =>
            Effect.logWarning("not ready: the database does not answer", error).pipe(
              Effect.zipRight(Effect.fail(new NotReady({ message: "The database does not answer." })))
            )
          )
        )
      }).pipe(HttpMiddleware.withLoggerDisabled)))

// ---- auth ----------------------------------------------------------------------------------------

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

/**
 * Bearer keys from `Settings.apiKeys`. Keys are compared as SHA-256 digests with `timingSafeEqual`
 * (equal lengths whatever the input) and every key is checked, so timing reveals neither a key's
 * length nor which key nearly matched. Keys stay `Redacted` and are never logged.
 */
export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const { apiKeys } = yield* Settings
    if (apiKeys.length === 0) {
      yield* Effect.logWarning("no API keys configured: the API is open")
    } else {
      yield* Effect.logInfo(
        `${apiKeys.length} API key(s) configured: POST /upload and GET /images/* require Authorization: Bearer <key>`
      )
    }
    const expected = apiKeys.map((key) => digest(Redacted.value(key)))
    const isValid = (token: Redacted.Redacted<string>): boolean => {
      const candidate = digest(Redacted.value(token))
      let matched = false
      for (const key of expected) matched = timingSafeEqual(key, candidate) || matched
      return matched
    }
    return {
      bearer: (token) => {
        if (expected.length === 0) return Effect.void
        if (Redacted.value(token).length === 0) {
          return Effect.fail(
            new Unauthorized({ message: "An API key is required: send Authorization: Bearer <key>." })
          )
        }
        return isValid(token) ? Effect.void : Effect.fail(new Unauthorized({ message: "The API key is not valid." }))
      }
    }
  })
)

// ---- errors: one body shape for everything ------------------------------------------------------

/** Encodes an error through its wire schema, so the status and body come from `Api.ts` alone. */
const respond = <A extends { readonly message: string }, I>(schema: Schema.Schema<A, I>, error: A) =>
  Schema.encode(schema)(error).pipe(
    Effect.flatMap((body) => HttpServerResponse.json(body, { status: HttpApiSchema.getStatusError(schema) })),
    Effect.orDie
  )

/** Turns the framework's schema issues into one readable sentence, e.g. "image_size must be one of …". */
export const describeDecodeError = (error: HttpApiError.HttpApiDecodeError): string => {
  const sentences = error.issues.map((issue) => {
    const where = issue.path.map(String).join(".")
    return where.length === 0 ? issue.message : `${where} ${issue.message}`
  })
  return sentences.length === 0 ? "The request is malformed." : Array.from(new Set(sentences)).join("; ")
}

const isDeclaredError = (u: unknown): boolean => apiErrorClasses.some((errorClass) => u instanceof errorClass)

const pathOf = (url: string) => url.split("?")[0] ?? url

/**
 * Runs around every route, before `HttpApiBuilder` encodes declared errors:
 * - declared API errors pass through, to be encoded by their wire schemas;
 * - `HttpApiDecodeError` (bad query/path/body fields) → 400 `bad_request` with a readable summary,
 *   instead of the framework's `{ _tag, issues }` body;
 * - an unreadable body (invalid JSON is a defect in the framework) → 400 `bad_request`;
 * - no route → 404 `not_found`;
 * - anything else (defects, undeclared failures) → logged, then 500 `internal_error` with no details.
 */
// `HttpApp.Default` types its failures as `never`, though the router really fails with decode
// errors, `RouteNotFound` and the declared errors: inspect them at run time, re-raise only as is.
const mapUnexpected = (cause: Cause.Cause<never>) =>
  Effect.gen(function*() {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error: unknown = failure.value
      if (error instanceof HttpApiError.HttpApiDecodeError) {
        return yield* respond(ErrorBody.BadRequest, new BadRequest({ message: describeDecodeError(error) }))
      }
      if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
        return yield* respond(
          ErrorBody.NotFound,
          new NotFound({
            message: `There is no ${error.request.method} ${pathOf(error.request.url)}. See /docs for the API.`
          })
        )
      }
    }
    // A raw route (see `routes` below) may fail with an error that knows its own response.
    if (Option.isSome(failure) && HttpServerRespondable.isRespondable(failure.value)) {
      return yield* Effect.failCause(cause)
    }
    const defect = Cause.dieOption(cause)
    const tooLarge = Option.flatMap(defect, bodyTooLargeOf)
    if (Option.isSome(tooLarge)) {
      return yield* respond(ErrorBody.TooLarge, new TooLarge({ message: tooLarge.value.message }))
    }
    if (Option.isSome(defect) && HttpServerError.isServerError(defect.value) && defect.value._tag === "RequestError") {
      return yield* respond(
        ErrorBody.BadRequest,
        new BadRequest({ message: "The request body could not be read: send a JSON object." })
      )
    }
    const request = yield* HttpServerRequest.HttpServerRequest
    // The cause is rendered here so that signed URLs inside error messages can be redacted.
    yield* Effect.logError("unexpected failure").pipe(
      Effect.annotateLogs({
        "http.method": request.method,
        "http.url": pathOf(request.url),
        cause: redactSignatures(Cause.pretty(cause))
      })
    )
    return yield* respond(
      ErrorBody.InternalError,
      new InternalError({ message: "Something went wrong on our side. Try again later." })
    )
  })

/**
 * Error answers describe this moment ("nothing uploaded yet", "database down"): no cache may keep
 * them. A pre-response handler, because the error bodies are encoded after route middleware runs.
 */
const noStoreOnErrors: HttpApp.PreResponseHandler = (_request, response) =>
  Effect.succeed(
    response.status >= 400 && response.headers["cache-control"] === undefined
      ? HttpServerResponse.setHeader(response, "cache-control", "no-store")
      : response
  )

export const ErrorMappingLive = HttpApiBuilder.middleware((app: HttpApp.Default) =>
  HttpApp.appendPreResponseHandler(noStoreOnErrors).pipe(
    Effect.zipRight(app),
    Effect.catchAllCause((cause) => {
      // A client that went away needs no answer; declared errors are the builder's to encode.
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && isDeclaredError(failure.value)) return Effect.failCause(cause)
      return mapUnexpected(cause)
    })
  )
)

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
