/**
 * The bearer-key check declared as `Authorization` in `images/Api.ts`, over `Settings.apiKeys`.
 */
import { Settings } from "@imgpipe/core"
import { Effect, Layer, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { Unauthorized } from "./errors.js"
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
