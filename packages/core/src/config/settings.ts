/** The settings the use cases read (`Settings`): limits, sizes, URL lifetimes, API keys. */
import { Config, Context, Effect, Layer, type Redacted } from "effect"
import { EXTRA_FORMATS, type ExtraFormat } from "../domain/formats.js"
import type { ImageSize, SizeBoxes } from "../domain/sizes.js"
import { positiveIntegerConfig as positive } from "./integers.js"
import { keyListConfig } from "./keys.js"

/** Settings every runtime shares, read from the spec's environment variables through `Config`. */
export interface SettingsShape {
  readonly maxUploadBytes: number
  readonly maxPixels: number
  readonly keepOriginals: boolean
  readonly sizes: SizeBoxes
  /** The sizes every image gets, smallest first (fallback order). */
  readonly sizeOrder: ReadonlyArray<ImageSize>
  /** `IMGPIPE_FORMATS`: extra encodings made for every size beside the baseline (default `webp`). */
  readonly formats: ReadonlyArray<ExtraFormat>
  readonly uploadUrlTtlSeconds: number
  readonly downloadUrlTtlSeconds: number
  /** Keys accepted in `Authorization: Bearer`; empty means the API is open. */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
}

export class Settings extends Context.Tag("imgpipe/Settings")<Settings, SettingsShape>() {}

const box = (name: string, fallback: number) =>
  positive(`IMGPIPE_SIZE_${name}`, fallback).pipe(Config.map((n) => ({ width: n, height: n })))

const isExtraFormat = (name: string): name is ExtraFormat => (EXTRA_FORMATS as ReadonlyArray<string>).includes(name)

/**
 * `IMGPIPE_FORMATS`: a comma list of `webp`, `avif` (any order, case-insensitive, duplicates
 * ignored); empty or `none` makes the baseline only. Default `webp`.
 */
export const formatsConfig: Config.Config<ReadonlyArray<ExtraFormat>> = Config.string("IMGPIPE_FORMATS").pipe(
  Config.withDefault("webp"),
  Config.map((raw) =>
    raw.split(",").map((part) => part.trim().toLowerCase()).filter((part) => part !== "" && part !== "none")
  ),
  Config.validate({
    message: `IMGPIPE_FORMATS must be a comma list of ${EXTRA_FORMATS.join(", ")} (or none), e.g. "webp,avif"`,
    validation: (names) => names.every(isExtraFormat)
  }),
  Config.map((names) => EXTRA_FORMATS.filter((format) => names.includes(format)))
)

export const settingsConfig: Config.Config<SettingsShape> = Config.all({
  maxUploadBytes: positive("IMGPIPE_MAX_UPLOAD_BYTES", 26_214_400),
  maxPixels: positive("IMGPIPE_MAX_PIXELS", 50_000_000),
  keepOriginals: Config.boolean("IMGPIPE_KEEP_ORIGINALS").pipe(Config.withDefault(true)),
  sizes: Config.all({ small: box("SMALL", 320), medium: box("MEDIUM", 1024), large: box("LARGE", 2048) }),
  uploadUrlTtlSeconds: positive("IMGPIPE_UPLOAD_URL_TTL_SECONDS", 900),
  downloadUrlTtlSeconds: positive("IMGPIPE_DOWNLOAD_URL_TTL_SECONDS", 3600),
  apiKeys: keyListConfig("IMGPIPE_API_KEYS"),
  formats: formatsConfig
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
