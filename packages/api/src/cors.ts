/**
 * CORS for browser apps on other origins, on every route of the server (the API and the raw routes
 * a runtime adds, e.g. the embedded storage PUT/GET), through `HttpMiddleware.cors`.
 *
 * `IMGPIPE_CORS_ORIGINS`: `*` (any origin), a comma-separated list of origins
 * (`https://app.example.com,http://localhost:5173`), or `off`. Unset, the runtime's default
 * applies (`corsDefault` of `makeHttpServer`): the embedded runner allows any origin while its API
 * is open (no API keys), the ECS entry allows none.
 */
import { HttpMiddleware } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { Config, ConfigError, Data, Either, Option } from "effect"

export type CorsPolicy = Data.TaggedEnum<{
  Off: {}
  AnyOrigin: {}
  Origins: { readonly origins: ReadonlyArray<string> }
}>
export const CorsPolicy = Data.taggedEnum<CorsPolicy>()

/** What a runtime wants when `IMGPIPE_CORS_ORIGINS` is not set: `*` only while the API is open. */
export type CorsDefault = "*" | "off"

/** Request headers a browser may send: the bearer key, the JSON/upload type, conditional PUTs. */
export const CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-None-Match"] as const
/** Response headers a browser app may read. */
export const CORS_EXPOSED_HEADERS = ["X-Image-Size", "ETag", "Location", "Cache-Control", "Content-Length"] as const
/** Browsers may cache a preflight answer this long (seconds). */
export const CORS_MAX_AGE_SECONDS = 600

const isOrigin = (value: string): boolean => {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value
  } catch {
    return false
  }
}

/** Parses `*`, `off` or a list of origins; a trailing slash on an origin is forgiven. */
export const parseCorsOrigins = (raw: string): Either.Either<CorsPolicy, string> => {
  const value = raw.trim()
  if (value === "*") return Either.right(CorsPolicy.AnyOrigin())
  if (value === "" || value.toLowerCase() === "off") return Either.right(CorsPolicy.Off())
  const origins = value.split(",").map((origin) => origin.trim().replace(/\/+$/, "")).filter((o) => o.length > 0)
  const bad = origins.filter((origin) => !isOrigin(origin))
  return bad.length > 0
    ? Either.left(
      `IMGPIPE_CORS_ORIGINS must be *, off, or a comma-separated list of origins such as ` +
        `https://app.example.com (scheme, host and port only); not an origin: ${bad.join(", ")}`
    )
    : Either.right(CorsPolicy.Origins({ origins }))
}

/** `IMGPIPE_CORS_ORIGINS`, `None` when unset. */
export const corsOriginsConfig: Config.Config<Option.Option<CorsPolicy>> = Config.option(
  Config.string("IMGPIPE_CORS_ORIGINS").pipe(
    Config.mapOrFail((raw) => Either.mapLeft(parseCorsOrigins(raw), (message) => ConfigError.InvalidData([], message)))
  )
)

/** The configured policy if any, else the runtime's default (`*` only while no API key is set). */
export const resolveCorsPolicy = (
  configured: Option.Option<CorsPolicy>,
  corsDefault: CorsDefault,
  apiKeysConfigured: boolean
): CorsPolicy =>
  Option.getOrElse(
    configured,
    () => corsDefault === "*" && !apiKeysConfigured ? CorsPolicy.AnyOrigin() : CorsPolicy.Off()
  )

/** A one-line description for the start-up log; `configured` says whether it came from the variable. */
export const describeCorsPolicy = (policy: CorsPolicy, configured: boolean): string => {
  const source = configured ? "IMGPIPE_CORS_ORIGINS" : "default; set IMGPIPE_CORS_ORIGINS to change it"
  return CorsPolicy.$match(policy, {
    Off: () => `CORS off: browser apps on other origins cannot call the API (${source})`,
    AnyOrigin: () => `CORS: any origin may call the API (${source})`,
    Origins: ({ origins }) => `CORS: origins ${origins.join(", ")} may call the API (${source})`
  })
}

/** The middleware for a policy (none when off). */
export const corsMiddleware = (policy: CorsPolicy) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> => {
  if (policy._tag === "Off") return app
  const allowed = policy._tag === "Origins" ? new Set(policy.origins) : undefined
  return HttpMiddleware.cors({
    // A predicate (not a list) so a foreign origin gets no Access-Control-Allow-Origin at all.
    allowedOrigins: allowed === undefined ? [] : (origin) => allowed.has(origin),
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: CORS_MAX_AGE_SECONDS
  })(app)
}
