import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import {
  databaseUrlConfig,
  dbPoolSizeConfig,
  maxReceivesConfig,
  reconcileSettingsConfig,
  requiredDatabaseUrlConfig,
  secondsConfig,
  settingsConfig,
  shutdownGraceConfig,
  visibilityTimeoutSecondsConfig
} from "../src/config.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.map(Effect.flip(effect), String)

describe("Settings", () => {
  it.effect("the spec's defaults", () =>
    Effect.gen(function* () {
      const settings = yield* settingsConfig
      expect(settings.maxUploadBytes).toBe(26_214_400)
      expect(settings.maxPixels).toBe(50_000_000)
      expect(settings.keepOriginals).toBe(true)
      expect(settings.sizes).toEqual({
        small: { width: 320, height: 320 },
        medium: { width: 1024, height: 1024 },
        large: { width: 2048, height: 2048 }
      })
      expect(settings.sizeOrder).toEqual(["small", "medium", "large"])
      expect(settings.uploadUrlTtlSeconds).toBe(900)
      expect(settings.downloadUrlTtlSeconds).toBe(3600)
      expect(settings.apiKeys).toEqual([])
    }).pipe(withEnv({})))

  it.effect("sizes ordered by area whatever their names; API keys split, trimmed, redacted", () =>
    Effect.gen(function* () {
      const settings = yield* settingsConfig
      expect(settings.sizeOrder).toEqual(["large", "medium", "small"])
      expect(settings.apiKeys.map(Redacted.value)).toEqual(["a", "b"])
    }).pipe(withEnv({ IMGPIPE_SIZE_SMALL: "3000", IMGPIPE_SIZE_LARGE: "100", IMGPIPE_API_KEYS: " a, ,b " })))

  it.effect("a wrong value names its variable", () =>
    Effect.gen(function* () {
      expect(yield* failure(settingsConfig.pipe(withEnv({ IMGPIPE_SIZE_MEDIUM: "0" })))).toContain(
        "IMGPIPE_SIZE_MEDIUM must be a positive integer"
      )
      expect(yield* failure(settingsConfig.pipe(withEnv({ IMGPIPE_MAX_PIXELS: "-1" })))).toContain(
        "IMGPIPE_MAX_PIXELS must be a positive integer"
      )
    }))
})

describe("seconds settings", () => {
  it.effect("defaults and bounds", () =>
    Effect.gen(function* () {
      expect(Duration.toSeconds(yield* shutdownGraceConfig)).toBe(20)
      const reconcile = yield* reconcileSettingsConfig
      expect(Duration.toSeconds(reconcile.stall)).toBe(900)
      expect(Duration.toSeconds(reconcile.expireGrace)).toBe(86_400)
      expect(
        yield* failure(
          secondsConfig("IMGPIPE_X", { fallback: 5, min: 1, note: "(why)" }).pipe(
            withEnv({ IMGPIPE_X: "0" })
          )
        )
      ).toContain("IMGPIPE_X must be a whole number of seconds, at least 1 (why)")
      expect(yield* failure(shutdownGraceConfig.pipe(withEnv({ IMGPIPE_SHUTDOWN_GRACE_SECONDS: "-1" })))).toContain(
        "IMGPIPE_SHUTDOWN_GRACE_SECONDS must be a whole number of seconds, 0 or more"
      )
    }).pipe(withEnv({})))
})

describe("queue and database settings", () => {
  it.effect("IMGPIPE_MAX_RECEIVES, IMGPIPE_DB_POOL_SIZE and IMGPIPE_VISIBILITY_TIMEOUT_SECONDS", () =>
    Effect.gen(function* () {
      expect(yield* maxReceivesConfig).toBe(3)
      expect(yield* dbPoolSizeConfig(2)).toBe(2)
      expect(yield* visibilityTimeoutSecondsConfig(60)).toBe(60)
      expect(yield* visibilityTimeoutSecondsConfig(60).pipe(withEnv({ IMGPIPE_VISIBILITY_TIMEOUT_SECONDS: "3" }))).toBe(
        3
      )
      expect(yield* maxReceivesConfig.pipe(withEnv({ IMGPIPE_MAX_RECEIVES: "5" }))).toBe(5)
      expect(yield* dbPoolSizeConfig(2).pipe(withEnv({ IMGPIPE_DB_POOL_SIZE: "7" }))).toBe(7)
      expect(yield* failure(maxReceivesConfig.pipe(withEnv({ IMGPIPE_MAX_RECEIVES: "0" })))).toContain(
        "IMGPIPE_MAX_RECEIVES must be a positive integer"
      )
      expect(yield* failure(dbPoolSizeConfig(2).pipe(withEnv({ IMGPIPE_DB_POOL_SIZE: "0" })))).toContain(
        "IMGPIPE_DB_POOL_SIZE must be a positive integer"
      )
    }).pipe(withEnv({})))
})

describe("DATABASE_URL", () => {
  it.effect("blank or unset means none (embedded); required where a server is the only choice", () =>
    Effect.gen(function* () {
      expect(yield* databaseUrlConfig.pipe(withEnv({}))).toEqual(Option.none())
      expect(yield* databaseUrlConfig.pipe(withEnv({ DATABASE_URL: "  " }))).toEqual(Option.none())
      const url = yield* databaseUrlConfig.pipe(withEnv({ DATABASE_URL: "postgres://db/x" }))
      expect(Option.map(url, Redacted.value)).toEqual(Option.some("postgres://db/x"))
      expect(Redacted.value(yield* requiredDatabaseUrlConfig.pipe(withEnv({ DATABASE_URL: "postgres://db/x" })))).toBe(
        "postgres://db/x"
      )
      expect(yield* failure(requiredDatabaseUrlConfig.pipe(withEnv({})))).toContain("DATABASE_URL")
    }))
})
