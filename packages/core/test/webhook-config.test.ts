/** The webhook settings: safe defaults, and one clear sentence naming the variable when one is wrong. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import {
  describeWebhooks,
  WEBHOOK_GIVE_UP_AFTER,
  WEBHOOK_RETRY_CAP,
  webhookSettingsConfig
} from "../src/config/webhooks.js"
import { retryDelaySeconds } from "../src/usecases/deliverWebhook.js"

const read = (env: Record<string, string>) =>
  Effect.withConfigProvider(webhookSettingsConfig, ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("webhook settings", () => {
  it.effect("defaults: off (no secret, no URL), retries from 10 s, 10 s timeout, private destinations refused", () =>
    Effect.gen(function* () {
      const settings = yield* read({})
      expect(Option.isNone(settings.secret)).toBe(true)
      expect(Option.isNone(settings.defaultUrl)).toBe(true)
      expect(Duration.toSeconds(settings.retryBase)).toBe(10)
      expect(Duration.toSeconds(settings.timeout)).toBe(10)
      expect(Duration.toHours(settings.giveUpAfter)).toBe(24)
      expect(settings.allowPrivate).toBe(false)
      expect(describeWebhooks(settings)).toMatch(/^webhooks: off/)
    }))

  it.effect("on with a secret; the secret stays redacted; the start-up line says how open", () =>
    Effect.gen(function* () {
      const settings = yield* read({
        IMGPIPE_WEBHOOK_SECRET: "s3cret",
        IMGPIPE_WEBHOOK_URL: "https://hooks.example.com/x"
      })
      expect(Option.map(settings.secret, Redacted.value)).toEqual(Option.some("s3cret"))
      expect(String(settings.secret)).not.toContain("s3cret")
      expect(describeWebhooks(settings)).toBe(
        "webhooks: on, stage-wide URL set, https only, private destinations refused"
      )
      const open = yield* read({ IMGPIPE_WEBHOOK_SECRET: "s", IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "true" })
      expect(describeWebhooks(open)).toMatch(/IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true: .*ALLOWED/)
    }))

  it.effect("wrong values fail with a sentence naming the variable", () =>
    Effect.gen(function* () {
      const cases: Array<[Record<string, string>, RegExp]> = [
        [
          { IMGPIPE_WEBHOOK_URL: "https://hooks.example.com/x" },
          /IMGPIPE_WEBHOOK_URL is set but IMGPIPE_WEBHOOK_SECRET is not/
        ],
        [
          { IMGPIPE_WEBHOOK_SECRET: "s", IMGPIPE_WEBHOOK_URL: "ftp://x" },
          /IMGPIPE_WEBHOOK_URL must be an absolute http\(s\) URL/
        ],
        [
          { IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: "0" },
          /IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS must be a whole number of seconds, at least 1/
        ],
        [{ IMGPIPE_WEBHOOK_TIMEOUT_SECONDS: "soon" }, /IMGPIPE_WEBHOOK_TIMEOUT_SECONDS/],
        [{ IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "maybe" }, /IMGPIPE_WEBHOOK_ALLOW_PRIVATE/]
      ]
      for (const [env, message] of cases) {
        const error = yield* Effect.flip(read(env))
        expect(String(error), JSON.stringify(env)).toMatch(message)
      }
    }))
})

describe("the retry schedule (docs/webhooks.md's table)", () => {
  it("doubles from the base, caps at an hour, and makes 32 attempts in the day (the last about 23 h 25 min in)", () => {
    const settings = { retryBase: Duration.seconds(10), retryCap: WEBHOOK_RETRY_CAP }
    expect([1, 2, 3, 9, 10, 11, 20].map((n) => retryDelaySeconds(settings, n))).toEqual(
      [10, 20, 40, 2560, 3600, 3600, 3600]
    )
    // Attempt 1 at 0 s; after failed attempt n the next comes retryDelaySeconds(n) later, unless
    // that falls after the give-up window (the SQL in WebhookDeliveries.recordFailure).
    let at = 0
    let attempts = 1
    for (;;) {
      const next = at + retryDelaySeconds(settings, attempts)
      if (next > Duration.toSeconds(WEBHOOK_GIVE_UP_AFTER)) break
      at = next
      attempts++
    }
    expect(attempts).toBe(32)
    expect(Math.round(at / 60)).toBe(23 * 60 + 25)
  })
})
