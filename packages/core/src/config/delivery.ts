/**
 * How `get_image` hands out renditions (`IMGPIPE_DELIVERY`, `IMGPIPE_CDN_URL`; docs/delivery.md).
 * Originals are always behind signed URLs, whatever the mode.
 */
import { Config, ConfigError, Context, Effect, Either, Layer, Option } from "effect"
import type { DeliveryMode } from "../domain/delivery.js"
import { isHttpUrl } from "../util/url.js"

export type DeliverySettingsShape =
  /** Stable, unsigned URLs `${cdnUrl}/<key>` (no trailing slash), cacheable for ever. */
  | { readonly mode: "cdn"; readonly cdnUrl: string }
  /** Presigned GETs that expire (private deployments). */
  | { readonly mode: "signed" }

export class DeliverySettings extends Context.Tag("imgpipe/DeliverySettings")<
  DeliverySettings,
  DeliverySettingsShape
>() {}

/** `IMGPIPE_DELIVERY`: `cdn` (the default) or `signed`, case-insensitive. */
export const deliveryModeConfig: Config.Config<DeliveryMode> = Config.string("IMGPIPE_DELIVERY").pipe(
  Config.withDefault("cdn"),
  Config.map((value) => value.trim().toLowerCase()),
  Config.validate({
    message: "IMGPIPE_DELIVERY must be cdn or signed",
    validation: (value) => value === "cdn" || value === "signed"
  }),
  Config.map((value): DeliveryMode => value === "signed" ? "signed" : "cdn")
)

/** `IMGPIPE_CDN_URL`: an http(s) base URL, trailing slashes trimmed; none when unset or empty. */
export const cdnUrlConfig: Config.Config<Option.Option<string>> = Config.string("IMGPIPE_CDN_URL").pipe(
  Config.map((value) => value.trim()),
  Config.validate({
    message: "IMGPIPE_CDN_URL must be an absolute http(s) URL, e.g. https://d111111abcdef8.cloudfront.net",
    validation: (value) => value === "" || isHttpUrl(value)
  }),
  Config.map((value) => value.replace(/\/+$/, "")),
  Config.option,
  Config.map(Option.filter((value) => value !== ""))
)

export const MISSING_CDN_URL =
  "IMGPIPE_DELIVERY is cdn (the default) but no CDN URL is known: set IMGPIPE_CDN_URL, or IMGPIPE_DELIVERY=signed"

/**
 * The delivery settings; `defaultCdnUrl` is used when `IMGPIPE_CDN_URL` is not set (the embedded
 * runner serves `${publicUrl}/cdn` itself). With `cdn` and no URL at all: a `ConfigError` saying
 * what to set.
 */
export const deliverySettingsConfig = (defaultCdnUrl?: string): Config.Config<DeliverySettingsShape> =>
  Config.all({ mode: deliveryModeConfig, cdnUrl: cdnUrlConfig }).pipe(
    Config.mapOrFail(({ cdnUrl, mode }): Either.Either<DeliverySettingsShape, ConfigError.ConfigError> => {
      if (mode === "signed") return Either.right({ mode })
      const url = Option.orElse(cdnUrl, () => Option.fromNullable(defaultCdnUrl?.replace(/\/+$/, "")))
      return Option.match(url, {
        onNone: () => Either.left(ConfigError.MissingData(["IMGPIPE_CDN_URL"], MISSING_CDN_URL)),
        onSome: (cdnUrl) => Either.right({ mode, cdnUrl })
      })
    })
  )

/** `DeliverySettings` from the environment; `defaultCdnUrl` as in `deliverySettingsConfig`. */
export const makeDeliverySettingsLayer = (
  defaultCdnUrl?: string
): Layer.Layer<DeliverySettings, ConfigError.ConfigError> =>
  Layer.effect(DeliverySettings, Effect.suspend(() => deliverySettingsConfig(defaultCdnUrl)))

/** `DeliverySettings` from the environment, with no default CDN URL (the ECS API). */
export const DeliverySettingsLive = makeDeliverySettingsLayer()

/** For tests and fixed compositions: the settings given. */
export const deliverySettingsLayer = (settings: DeliverySettingsShape): Layer.Layer<DeliverySettings> =>
  Layer.succeed(DeliverySettings, settings)

/** One line for the start-up log: how renditions are handed out. */
export const describeDelivery = (s: DeliverySettingsShape): string =>
  s.mode === "cdn"
    ? `delivery: cdn, sizes at ${s.cdnUrl}/<image_id>/<size>[.webp|.avif] (public, cached for a year; originals signed)`
    : "delivery: signed, every URL presigned and expiring (IMGPIPE_DELIVERY=signed)"
