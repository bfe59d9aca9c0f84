/** `IMGPIPE_DELIVERY` and `IMGPIPE_CDN_URL` (`DeliverySettings`): defaults, validation, the start-up error. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { deliverySettingsConfig, describeDelivery, MISSING_CDN_URL } from "../src/config.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.map(Effect.flip(effect), String)

describe("DeliverySettings", () => {
  it.effect("cdn by default, at IMGPIPE_CDN_URL with its trailing slashes trimmed", () =>
    Effect.gen(function* () {
      expect(yield* deliverySettingsConfig().pipe(withEnv({ IMGPIPE_CDN_URL: "https://d1.cloudfront.net//" })))
        .toEqual({ mode: "cdn", cdnUrl: "https://d1.cloudfront.net" })
      expect(
        yield* deliverySettingsConfig().pipe(
          withEnv({ IMGPIPE_DELIVERY: " CDN ", IMGPIPE_CDN_URL: "http://127.0.0.1:4566/processed-image-dev" })
        )
      ).toEqual({ mode: "cdn", cdnUrl: "http://127.0.0.1:4566/processed-image-dev" })
    }))

  it.effect("the runtime's default URL when IMGPIPE_CDN_URL is unset or empty; the variable wins", () =>
    Effect.gen(function* () {
      const local = deliverySettingsConfig("http://localhost:3000/cdn")
      expect(yield* local.pipe(withEnv({}))).toEqual({ mode: "cdn", cdnUrl: "http://localhost:3000/cdn" })
      expect(yield* local.pipe(withEnv({ IMGPIPE_CDN_URL: "  " }))).toEqual({
        mode: "cdn",
        cdnUrl: "http://localhost:3000/cdn"
      })
      expect(yield* local.pipe(withEnv({ IMGPIPE_CDN_URL: "https://cdn.example.com/" }))).toEqual({
        mode: "cdn",
        cdnUrl: "https://cdn.example.com"
      })
    }))

  it.effect("signed needs no URL and ignores one", () =>
    Effect.gen(function* () {
      expect(yield* deliverySettingsConfig().pipe(withEnv({ IMGPIPE_DELIVERY: "signed" }))).toEqual({ mode: "signed" })
      expect(
        yield* deliverySettingsConfig().pipe(
          withEnv({ IMGPIPE_DELIVERY: "signed", IMGPIPE_CDN_URL: "https://d1.cloudfront.net" })
        )
      ).toEqual({ mode: "signed" })
    }))

  it.effect("cdn with no URL at all fails with one line naming both ways out", () =>
    Effect.gen(function* () {
      const message = yield* failure(deliverySettingsConfig().pipe(withEnv({})))
      expect(message).toContain(MISSING_CDN_URL)
      expect(message).not.toContain("\n")
      expect(MISSING_CDN_URL).toMatch(/IMGPIPE_CDN_URL.*IMGPIPE_DELIVERY=signed/)
    }))

  it.effect("a wrong mode or URL is refused with its variable's name", () =>
    Effect.gen(function* () {
      expect(yield* failure(deliverySettingsConfig().pipe(withEnv({ IMGPIPE_DELIVERY: "public" })))).toContain(
        "IMGPIPE_DELIVERY must be cdn or signed"
      )
      for (const url of ["d1.cloudfront.net", "ftp://d1.cloudfront.net", "not a url"]) {
        expect(yield* failure(deliverySettingsConfig().pipe(withEnv({ IMGPIPE_CDN_URL: url })))).toContain(
          "IMGPIPE_CDN_URL must be an absolute http(s) URL"
        )
      }
    }))
})

describe("describeDelivery", () => {
  it("names the mode and, for cdn, where the sizes are", () => {
    expect(describeDelivery({ mode: "cdn", cdnUrl: "https://d1.cloudfront.net" })).toBe(
      "delivery: cdn, sizes at https://d1.cloudfront.net/<image_id>/<size>[.webp|.avif] (public, cached for a year; originals signed)"
    )
    expect(describeDelivery({ mode: "signed" })).toMatch(/^delivery: signed, /)
  })
})
