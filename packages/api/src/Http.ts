/**
 * The implementation of the contract in `Api.ts`, assembled: each group's handlers (`images/Http.ts`,
 * `delivery/Http.ts`, `system/Http.ts`) with the bearer-key middleware (`authorization.ts`), the
 * error mapping (`errorMapping.ts`), the OpenAPI document and docs page, then served with the JSON
 * body limit, CORS and the request log.
 *
 * Nothing here picks an implementation: `ApiLive` needs the core service tags (`Settings`,
 * `DeliverySettings`, `ImageRepository`, `ObjectStorage`) and each runtime's `layers.ts` provides them.
 */
import { type HttpApi, HttpApiBuilder, type HttpApp, type HttpRouter, HttpServer } from "@effect/platform"
import {
  type ChangeFeed,
  type DeliverySettings,
  type ImageRepository,
  logLevelConfig,
  type ObjectStorage,
  Settings
} from "@imgpipe/core"
import { Config, type ConfigError, Effect, Layer, LogLevel, Option } from "effect"
import { AdminLive, type AdminServices } from "./admin/Http.js"
import { Api } from "./Api.js"
import { AuthorizationLive, MetricsAuthorizationLive } from "./authorization.js"
import { BodyLimitLive } from "./bodyLimit.js"
import { type CorsDefault, corsMiddleware, corsOriginsConfig, describeCorsPolicy, resolveCorsPolicy } from "./cors.js"
import { DeliveryLive } from "./delivery/Http.js"
import { ErrorMappingLive } from "./errorMapping.js"
import { EventsLive } from "./events/Http.js"
import { ImagesLive } from "./images/Http.js"
import { requestLog, type RoutePattern } from "./requestLog.js"
import { DocsLive, SystemLive } from "./system/Http.js"

/**
 * The whole API on `HttpApiBuilder.Router`: endpoints, auth, error mapping, `GET /openapi.json`
 * and `GET /docs`. Needs only core service tags.
 */
export const ApiLive: Layer.Layer<
  HttpApi.Api,
  ConfigError.ConfigError,
  Settings | DeliverySettings | ImageRepository | ObjectStorage | ChangeFeed | AdminServices
> = Layer.mergeAll(
  DocsLive,
  ErrorMappingLive
).pipe(
  Layer.provideMerge(HttpApiBuilder.api(Api)),
  Layer.provide([ImagesLive, EventsLive, DeliveryLive, SystemLive, AdminLive]),
  Layer.provide([AuthorizationLive, MetricsAuthorizationLive])
)

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
  /** `routes`' patterns (`"PUT /storage/raw/:key"`), the route label of their requests in the metrics. */
  readonly extraRoutes?: ReadonlyArray<RoutePattern> | undefined
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
  | HttpServer.HttpServer
  | HttpRouter.HttpRouter.DefaultServices
  | Settings
  | DeliverySettings
  | ImageRepository
  | ObjectStorage
  | ChangeFeed
  | AdminServices
  | R
> => {
  const routes: Layer.Layer<never, E, R> = options.routes ?? Layer.empty
  return Layer.unwrapEffect(
    Effect.gen(function* () {
      const config = yield* serverConfig
      const { apiKeys } = yield* Settings
      const cors = resolveCorsPolicy(config.corsOrigins, options.corsDefault ?? "off", apiKeys.length > 0)
      yield* Effect.logInfo(describeCorsPolicy(cors, Option.isSome(config.corsOrigins)))
      const logRequests = options.logRequests ?? LogLevel.lessThanEqual(config.logLevel, LogLevel.Info)
      const middleware = (app: HttpApp.Default) => {
        const served = corsMiddleware(cors)(app)
        // Always counted (GET /metrics); logged as `logRequests` says.
        return requestLog({ log: logRequests, extraRoutes: options.extraRoutes })(served)
      }
      return HttpApiBuilder.serve(middleware).pipe(
        Layer.provide(routes),
        Layer.provide(Layer.merge(ApiLive, BodyLimitLive)),
        HttpServer.withLogAddress
      )
    })
  )
}
