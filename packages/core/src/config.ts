import { Config, Context, Duration, Effect, Layer, Redacted } from "effect"
import type { ImageSize, SizeBoxes } from "./domain/sizes.js"

/** Settings every runtime shares, read from the spec's environment variables through `Config`. */
export interface SettingsShape {
  readonly maxUploadBytes: number
  readonly maxPixels: number
  readonly keepOriginals: boolean
  readonly sizes: SizeBoxes
  /** The sizes every image gets, smallest first (fallback order). */
  readonly sizeOrder: ReadonlyArray<ImageSize>
  readonly uploadUrlTtlSeconds: number
  readonly downloadUrlTtlSeconds: number
  /** Keys accepted in `Authorization: Bearer`; empty means the API is open. */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
}

export class Settings extends Context.Tag("imgpipe/Settings")<Settings, SettingsShape>() {}

const box = (name: string, fallback: number) =>
  Config.integer(`IMGPIPE_SIZE_${name}`).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `IMGPIPE_SIZE_${name} must be a positive integer`, validation: (n) => n > 0 }),
    Config.map((n) => ({ width: n, height: n }))
  )

const positive = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 })
  )

export const settingsConfig: Config.Config<SettingsShape> = Config.all({
  maxUploadBytes: positive("IMGPIPE_MAX_UPLOAD_BYTES", 26_214_400),
  maxPixels: positive("IMGPIPE_MAX_PIXELS", 50_000_000),
  keepOriginals: Config.boolean("IMGPIPE_KEEP_ORIGINALS").pipe(Config.withDefault(true)),
  sizes: Config.all({ small: box("SMALL", 320), medium: box("MEDIUM", 1024), large: box("LARGE", 2048) }),
  uploadUrlTtlSeconds: positive("IMGPIPE_UPLOAD_URL_TTL_SECONDS", 900),
  downloadUrlTtlSeconds: positive("IMGPIPE_DOWNLOAD_URL_TTL_SECONDS", 3600),
  apiKeys: Config.string("IMGPIPE_API_KEYS").pipe(
    Config.withDefault(""),
    Config.map((raw) =>
      raw
        .split(",")
        .map((key) => key.trim())
        .filter((key) => key.length > 0)
        .map((key) => Redacted.make(key))
    )
  )
}).pipe(
  Config.map((s) => ({
    ...s,
    sizeOrder: (["small", "medium", "large"] as const)
      .slice()
      .sort((a, b) => s.sizes[a].width * s.sizes[a].height - s.sizes[b].width * s.sizes[b].height)
  }))
)

/** Settings from the environment (or whatever `ConfigProvider` is installed). */
export const SettingsLive: Layer.Layer<Settings, import("effect/ConfigError").ConfigError> = Layer.effect(
  Settings,
  Effect.gen(function* () {
    return yield* settingsConfig
  })
)

/**
 * A setting in whole seconds, at least `min`, read as a `Duration`; a wrong value fails with one
 * sentence naming the variable.
 */
export const secondsConfig = (
  name: string,
  options: { readonly fallback: number; readonly min: number; readonly note?: string }
): Config.Config<Duration.Duration> =>
  Config.integer(name).pipe(
    Config.withDefault(options.fallback),
    Config.validate({
      message: `${name} must be a whole number of seconds, ${options.min === 0 ? "0 or more" : `at least ${options.min}`}` +
        (options.note === undefined ? "" : ` ${options.note}`),
      validation: (n) => n >= options.min
    }),
    Config.map(Duration.seconds)
  )

/**
 * `IMGPIPE_SHUTDOWN_GRACE_SECONDS`: how long in-flight requests may finish after SIGTERM/SIGINT
 * before they are cut (the ECS API and the embedded runner alike; inside ECS's 30 s stop timeout).
 */
export const shutdownGraceConfig = secondsConfig("IMGPIPE_SHUTDOWN_GRACE_SECONDS", { fallback: 20, min: 0 })

// ---- reconciliation (usecases/reconcile.ts) ---------------------------------------------------

/**
 * `IMGPIPE_STALL_SECONDS`: a `processing` image with no progress this long is stalled (its missing
 * sizes are re-sent once; a second stall fails it).
 */
export const stallConfig = secondsConfig("IMGPIPE_STALL_SECONDS", { fallback: 900, min: 1 })

/** `IMGPIPE_EXPIRE_GRACE_SECONDS`: how long after its upload URL expired an `awaiting_upload` image expires. */
export const expireGraceConfig = secondsConfig("IMGPIPE_EXPIRE_GRACE_SECONDS", { fallback: 86_400, min: 0 })

/** `IMGPIPE_RECONCILE_EVERY_SECONDS`: the embedded runner's (and `start:aws-local`'s) reconcile period. */
export const reconcileEveryConfig = secondsConfig("IMGPIPE_RECONCILE_EVERY_SECONDS", { fallback: 300, min: 1 })

/** The reconciler's windows, read once when a runtime starts (a wrong value fails the start). */
export interface ReconcileSettingsShape {
  readonly stall: Duration.Duration
  readonly expireGrace: Duration.Duration
  /** Most rows of each kind (expired, stalled) one run changes; the rest waits for the next run. */
  readonly batchLimit: number
}

export class ReconcileSettings extends Context.Tag("imgpipe/ReconcileSettings")<ReconcileSettings, ReconcileSettingsShape>() {}

/** Rows per kind per run: one bounded transaction of a few statements, a few thousand jobs at most. */
export const RECONCILE_BATCH_LIMIT = 500

export const reconcileSettingsConfig: Config.Config<ReconcileSettingsShape> = Config.all({
  stall: stallConfig,
  expireGrace: expireGraceConfig,
  batchLimit: Config.succeed(RECONCILE_BATCH_LIMIT)
})

export const ReconcileSettingsLive: Layer.Layer<ReconcileSettings, import("effect/ConfigError").ConfigError> = Layer.effect(
  ReconcileSettings,
  reconcileSettingsConfig
)
