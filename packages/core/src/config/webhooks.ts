/** The webhook settings (usecases/deliverWebhook.ts, usecases/requestUpload.ts, docs/webhooks.md). */
import { Config, Context, Duration, Layer, Option, Redacted } from "effect"
import { isHttpUrl } from "../util/url.js"
import { secondsConfig } from "./integers.js"

export interface WebhookSettingsShape {
  /** `IMGPIPE_WEBHOOK_URL`: the stage-wide callback URL, used when an upload names none. */
  readonly defaultUrl: Option.Option<string>
  /** `IMGPIPE_WEBHOOK_SECRET`: the HMAC key of `Imgpipe-Signature`. Without it webhooks are off. */
  readonly secret: Option.Option<Redacted.Redacted<string>>
  /** `IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS`: the first retry's delay; each next one doubles it. */
  readonly retryBase: Duration.Duration
  /** Longest delay between two attempts (the doubling stops there). */
  readonly retryCap: Duration.Duration
  /** How long after its event a delivery is retried before it is given up (dead-lettered). */
  readonly giveUpAfter: Duration.Duration
  /** `IMGPIPE_WEBHOOK_TIMEOUT_SECONDS`: one request's time limit, connection to last byte. */
  readonly timeout: Duration.Duration
  /** `IMGPIPE_WEBHOOK_ALLOW_PRIVATE`: plain http and private/loopback destinations allowed (local development). */
  readonly allowPrivate: boolean
}

export class WebhookSettings extends Context.Tag("imgpipe/WebhookSettings")<WebhookSettings, WebhookSettingsShape>() {}

/** The doubling stops at an hour between attempts. */
export const WEBHOOK_RETRY_CAP = Duration.hours(1)
/** Retried for a day after the event. */
export const WEBHOOK_GIVE_UP_AFTER = Duration.hours(24)

export const webhookUrlConfig: Config.Config<Option.Option<string>> = Config.string("IMGPIPE_WEBHOOK_URL").pipe(
  Config.validate({
    message: "IMGPIPE_WEBHOOK_URL must be an absolute http(s) URL",
    validation: (value) => value === "" || isHttpUrl(value)
  }),
  Config.option,
  Config.map(Option.filter((value) => value !== ""))
)

export const webhookSecretConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.redacted(
  "IMGPIPE_WEBHOOK_SECRET"
).pipe(
  Config.option,
  Config.map(Option.filter((secret) => Redacted.value(secret).length > 0))
)

export const webhookSettingsConfig: Config.Config<WebhookSettingsShape> = Config.all({
  defaultUrl: webhookUrlConfig,
  secret: webhookSecretConfig,
  retryBase: secondsConfig("IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS", { fallback: 10, min: 1 }),
  retryCap: Config.succeed(WEBHOOK_RETRY_CAP),
  giveUpAfter: Config.succeed(WEBHOOK_GIVE_UP_AFTER),
  timeout: secondsConfig("IMGPIPE_WEBHOOK_TIMEOUT_SECONDS", { fallback: 10, min: 1 }),
  allowPrivate: Config.boolean("IMGPIPE_WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(false))
}).pipe(
  Config.validate({
    message: "IMGPIPE_WEBHOOK_URL is set but IMGPIPE_WEBHOOK_SECRET is not: webhooks are signed, set a secret",
    validation: (s) => Option.isNone(s.defaultUrl) || Option.isSome(s.secret)
  })
)

export const WebhookSettingsLive: Layer.Layer<WebhookSettings, import("effect/ConfigError").ConfigError> = Layer
  .effect(WebhookSettings, webhookSettingsConfig)

/** For tests: webhooks on with `secret`, retries every `retryBase`, private destinations allowed unless said. */
export const webhookSettingsForTest = (
  overrides: Partial<Omit<WebhookSettingsShape, "secret">> & { readonly secret: string }
) =>
  Layer.succeed(WebhookSettings, {
    defaultUrl: Option.none(),
    retryBase: Duration.seconds(10),
    retryCap: WEBHOOK_RETRY_CAP,
    giveUpAfter: WEBHOOK_GIVE_UP_AFTER,
    timeout: Duration.seconds(10),
    allowPrivate: true,
    ...overrides,
    secret: Option.some(Redacted.make(overrides.secret))
  })

/** One line for the start-up log: whether webhooks are on, and how open. */
export const describeWebhooks = (s: WebhookSettingsShape): string =>
  Option.isNone(s.secret)
    ? "webhooks: off (IMGPIPE_WEBHOOK_SECRET is not set; a callback_url is refused)"
    : `webhooks: on${Option.isSome(s.defaultUrl) ? ", stage-wide URL set" : ""}${
      s.allowPrivate
        ? ", IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true: plain http and private/loopback destinations ALLOWED (development only)"
        : ", https only, private destinations refused"
    }`
