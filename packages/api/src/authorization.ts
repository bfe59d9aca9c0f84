/**
 * The bearer-key checks: `Authorization` (declared in `images/Api.ts`) over `Settings.apiKeys`, and
 * `AdminAuthorization` (declared in `admin/Api.ts`) over `IMGPIPE_ADMIN_KEYS`, whose policy layers
 * (`AdminAuthorizationKeys`, `AdminAuthorizationOpen`) each runtime's `layers.ts` picks from.
 */
import type { HttpServerRequest } from "@effect/platform"
import { adminKeysConfig, Settings } from "@imgpipe/core"
import { type ConfigError, Effect, Layer, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { AdminAuthorization, MetricsAuthorization } from "./admin/Api.js"
import { AdminDisabled, Forbidden, Unauthorized } from "./errors.js"
import { Authorization } from "./images/Api.js"

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

/**
 * Bearer keys from `Settings.apiKeys`. Keys are compared as SHA-256 digests with `timingSafeEqual`
 * (equal lengths whatever the input) and every key is checked, so timing reveals neither a key's
 * length nor which key nearly matched. Keys stay `Redacted` and are never logged.
 */
export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function* () {
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

// ---- admin keys ----------------------------------------------------------------------------------

/**
 * The admin-key check, reusable wherever an admin key is asked for (the admin API, `GET /metrics`):
 * an admin key passes; an upload key (`IMGPIPE_API_KEYS`) is known but not enough: 403 `forbidden`;
 * no key or an unknown one: 401 `unauthorized`. Same constant-time comparison as the upload keys.
 */
export const makeAdminKeyCheck = (
  adminKeys: ReadonlyArray<Redacted.Redacted<string>>,
  uploadKeys: ReadonlyArray<Redacted.Redacted<string>>
) => {
  const admin = adminKeys.map((key) => digest(Redacted.value(key)))
  const upload = uploadKeys.map((key) => digest(Redacted.value(key)))
  const matches = (expected: ReadonlyArray<Buffer>, candidate: Buffer): boolean => {
    let matched = false
    for (const key of expected) matched = timingSafeEqual(key, candidate) || matched
    return matched
  }
  return (token: Redacted.Redacted<string>): Effect.Effect<void, Unauthorized | Forbidden> => {
    const value = Redacted.value(token)
    if (value.length === 0) {
      return Effect.fail(
        new Unauthorized({ message: "An admin key is required: send Authorization: Bearer <admin key>." })
      )
    }
    const candidate = digest(value)
    if (matches(admin, candidate)) return Effect.void
    if (matches(upload, candidate)) {
      return Effect.fail(
        new Forbidden({ message: "This is an upload key; the admin API needs a key from IMGPIPE_ADMIN_KEYS." })
      )
    }
    return Effect.fail(new Unauthorized({ message: "The admin key is not valid." }))
  }
}

/**
 * The admin API behind `IMGPIPE_ADMIN_KEYS` (the ECS API's policy): with keys, each request needs
 * one; without, the admin API is off and answers 403 `admin_disabled`.
 */
export const AdminAuthorizationKeys = Layer.effect(
  AdminAuthorization,
  Effect.gen(function* () {
    const adminKeys = yield* adminKeysConfig
    const { apiKeys } = yield* Settings
    if (adminKeys.length === 0) {
      yield* Effect.logInfo("no admin keys configured (IMGPIPE_ADMIN_KEYS): the admin API is off")
      const disabled = new AdminDisabled({
        message: "The admin API is off on this server: set IMGPIPE_ADMIN_KEYS to turn it on."
      })
      return { adminBearer: () => Effect.fail(disabled) }
    }
    yield* Effect.logInfo(`${adminKeys.length} admin key(s) configured: /admin/* requires Authorization: Bearer <key>`)
    return { adminBearer: makeAdminKeyCheck(adminKeys, apiKeys) }
  })
)

/**
 * The admin API open to whoever reaches the server: only for the embedded runner listening on
 * loopback without admin keys (its layers pick it; the start-up log says so).
 */
export const AdminAuthorizationOpen = Layer.effect(
  AdminAuthorization,
  Effect.logWarning("no admin keys configured and listening on loopback: the admin API (/admin/*) is open").pipe(
    Effect.as({ adminBearer: () => Effect.void })
  )
)

// ---- GET /metrics ---------------------------------------------------------------------------------

/**
 * The `/metrics` policy: open while no admin key is configured, else the admin-key check. For a raw
 * route, read the token with `bearerTokenOf`.
 */
export const metricsKeyCheck: Effect.Effect<
  (token: Redacted.Redacted<string>) => Effect.Effect<void, Unauthorized | Forbidden>,
  ConfigError.ConfigError,
  Settings
> = Effect.gen(function* () {
  const adminKeys = yield* adminKeysConfig
  const { apiKeys } = yield* Settings
  return adminKeys.length === 0 ? () => Effect.void : makeAdminKeyCheck(adminKeys, apiKeys)
})

/** The bearer token of a request (empty when there is none), as the security middleware reads it. */
export const bearerTokenOf = (request: HttpServerRequest.HttpServerRequest): Redacted.Redacted<string> => {
  const header = request.headers["authorization"] ?? ""
  return Redacted.make(header.toLowerCase().startsWith("bearer ") ? header.slice("bearer ".length).trim() : "")
}

/** `MetricsAuthorization` (declared in `admin/Api.ts`) over `metricsKeyCheck`. */
export const MetricsAuthorizationLive = Layer.effect(
  MetricsAuthorization,
  Effect.map(metricsKeyCheck, (check) => ({ adminBearer: check }))
)
