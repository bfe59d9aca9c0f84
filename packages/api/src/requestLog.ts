/**
 * The request log and the request metrics: one line per request (`GET /get_image?… 302 4ms`),
 * where the platform's `HttpMiddleware.logger` prints four (a message and three annotations, each
 * on its own line in the pretty logger), and `imgpipe_http_requests_total` /
 * `imgpipe_http_request_duration_seconds` by route pattern, method and status for `GET /metrics`.
 * Routes opt out of the log as before with `HttpMiddleware.withLoggerDisabled`; every request is
 * counted. With JSON logs (`IMGPIPE_LOG_FORMAT=json`) the line also carries `method`, `route`,
 * `status` and `duration_ms` as fields.
 *
 * The route label is the pattern of the contract's endpoint the request matched
 * (`/images/:image_id`), or of one of `extraRoutes`; anything else is `other`, so a scan of random
 * URLs cannot blow up the number of series.
 *
 * Signed URLs are bearer credentials: their signatures never reach the log (`redactSignatures`).
 */
import { HttpApi, type HttpApp, HttpMiddleware, HttpServerError, HttpServerRequest } from "@effect/platform"
import { structuredLogs } from "@imgpipe/core/observability/logging"
import { recordHttpRequest } from "@imgpipe/core/observability/metrics"
import { Clock, Effect, Exit, FiberRef } from "effect"
import { Api } from "./Api.js"

/** Query parameters that carry a credential: our signed URLs' `sig`, and S3's presigned ones. */
const SECRET_PARAMS = ["sig", "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"]
const secretParam = new RegExp(`([?&](?:${SECRET_PARAMS.join("|")})=)[^&#\\s"']*`, "gi")

/** Replaces the value of every signature-bearing query parameter in `text` with `[redacted]`. */
export const redactSignatures = (text: string): string => text.replace(secretParam, "$1[redacted]")

/** A route outside the contract, as `"<METHOD> <pattern>"` (`:name` a segment, a final `*` the rest). */
export type RoutePattern = `${string} /${string}`

interface CompiledRoute {
  readonly method: string
  readonly pattern: string
  readonly regex: RegExp
}

const compile = (method: string, pattern: string): CompiledRoute => {
  const source = pattern
    .split("/")
    .map((segment) =>
      segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
    )
    .join("/")
  return { method: method.toUpperCase(), pattern, regex: new RegExp(`^${source}$`) }
}

/** The contract's endpoints, from the `HttpApi` definition itself. */
const contractRoutes = (): ReadonlyArray<CompiledRoute> => {
  const routes: Array<CompiledRoute> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      routes.push(compile(endpoint.method, endpoint.path))
    }
  })
  return routes
}

/** `(method, url) → route label`: the matching pattern, or `other`. HEAD matches GET routes. */
export const makeRouteLabel = (extraRoutes: ReadonlyArray<RoutePattern> = []) => {
  const routes = [
    ...contractRoutes(),
    // The documents HttpApiBuilder serves beside the contract.
    compile("GET", "/openapi.json"),
    compile("GET", "/docs"),
    ...extraRoutes.map((route) => {
      const space = route.indexOf(" ")
      return compile(route.slice(0, space), route.slice(space + 1))
    })
  ]
  return (method: string, url: string): string => {
    const query = url.indexOf("?")
    const path = query < 0 ? url : url.slice(0, query)
    const upper = method.toUpperCase()
    for (const route of routes) {
      if ((route.method === upper || (upper === "HEAD" && route.method === "GET")) && route.regex.test(path)) {
        return route.pattern
      }
    }
    return "other"
  }
}

export interface RequestLogOptions {
  /** Print the log line (else only the metrics). Default true. */
  readonly log?: boolean | undefined
  /** Routes served beside the contract, labelled by their pattern rather than `other`. */
  readonly extraRoutes?: ReadonlyArray<RoutePattern> | undefined
}

/** Server middleware: counts and times each request and logs it once, at INFO, after its answer. */
export const requestLog = (options: RequestLogOptions = {}) => {
  const log = options.log !== false
  const routeOf = makeRouteLabel(options.extraRoutes)
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(app)
      const status = Exit.match(exit, {
        onSuccess: (response) => response.status,
        onFailure: (cause) => HttpServerError.causeResponseStripped(cause)[0].status
      })
      const elapsed = (yield* Clock.currentTimeMillis) - started
      const route = routeOf(request.method, request.url)
      yield* recordHttpRequest({ route, method: request.method, status, seconds: elapsed / 1000 })
      if (log && !(yield* FiberRef.get(HttpMiddleware.loggerDisabled))) {
        const line = Effect.logInfo(`${request.method} ${redactSignatures(request.url)} ${status} ${elapsed}ms`)
        // JSON lines (AWS) also carry the fields, for Logs Insights' filters and stats.
        yield* (yield* FiberRef.get(structuredLogs))
          ? Effect.annotateLogs(line, { method: request.method, route, status, duration_ms: elapsed })
          : line
      }
      return yield* exit
    })
}
