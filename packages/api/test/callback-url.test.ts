/**
 * `POST /upload`'s `callback_url` over HTTP: the SSRF guard refuses non-public destinations with
 * `400 invalid_callback_url` (a message saying why) before any record exists, an accepted URL is
 * stored with the image, and without a webhook secret a callback_url is refused rather than never
 * called. Names resolve through a fixed table (`fixedResolver`), so "a hostname resolving to 10.x"
 * needs no DNS.
 */
import { describe, expect, layer } from "@effect/vitest"
import { webhookSettingsForTest } from "@imgpipe/core/config/webhooks"
import { fixedResolver } from "@imgpipe/core/util/ssrf"
import { Effect, Layer, Option } from "effect"
import { asId, expectError, makeHarness, postJson } from "./support/harness.js"

const RESOLVE = {
  "hooks.example.com": ["93.184.216.34"],
  "intranet.example.com": ["10.1.2.3"],
  "mixed.example.com": ["93.184.216.34", "192.168.0.10"],
  "metadata.example.com": ["169.254.169.254"]
}

const upload = (callback_url: string) =>
  postJson("/upload", { content_type: "image/jpeg", content_length: 10, callback_url })

describe("POST /upload callback_url (webhooks on, https only)", () => {
  const harness = makeHarness([])
  const on = harness.layer.pipe(
    Layer.provide(Layer.merge(webhookSettingsForTest({ secret: "s", allowPrivate: false }), fixedResolver(RESOLVE)))
  )
  layer(on, { excludeTestServices: true })((it) => {
    it.effect("an https URL whose host resolves to a public address is accepted (201, the record created)", () =>
      Effect.gen(function* () {
        const answer = yield* upload("https://hooks.example.com/imgpipe?x=1")
        expect(answer.status).toBe(201)
        const id = (answer.json as { image_id: string }).image_id
        expect(Option.isSome(yield* harness.repository.service.find(asId(id)))).toBe(true)
      }))

    it.effect("refused with 400 invalid_callback_url: loopback, metadata, a name resolving to 10.x, plain http", () =>
      Effect.gen(function* () {
        const cases: Array<[string, RegExp]> = [
          ["https://127.0.0.1/hook", /127\.0\.0\.1 is a loopback address/],
          ["https://[::1]/hook", /::1 is a loopback address/],
          ["https://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is a linkLocal address/],
          ["https://metadata.example.com/", /169\.254\.169\.254 is a linkLocal address/],
          [
            "https://intranet.example.com/hook",
            /intranet\.example\.com resolves to .*10\.1\.2\.3 is a private address/
          ],
          ["https://mixed.example.com/hook", /192\.168\.0\.10 is a private address/],
          ["https://[::ffff:10.0.0.1]/hook", /10\.0\.0\.1 is a private address/],
          ["https://100.64.0.1/hook", /carrierGradeNat/],
          ["https://0.0.0.0/hook", /unspecified/],
          ["http://hooks.example.com/hook", /must be an https URL/],
          ["https://user:pw@hooks.example.com/hook", /credentials/],
          ["not a url", /not an absolute URL/],
          ["https://nowhere.example.com/hook", /does not resolve/]
        ]
        for (const [url, why] of cases) {
          const message = expectError(yield* upload(url), 400, "invalid_callback_url")
          expect(message, url).toMatch(why)
        }
      }))
  })
})

describe("POST /upload callback_url (webhooks off: no secret)", () => {
  const harness = makeHarness([])
  layer(harness.layer, { excludeTestServices: true })((it) => {
    it.effect("a callback_url is refused with 400 invalid_callback_url saying webhooks are off", () =>
      Effect.gen(function* () {
        const message = expectError(yield* upload("https://hooks.example.com/x"), 400, "invalid_callback_url")
        expect(message).toMatch(/IMGPIPE_WEBHOOK_SECRET/)
        // Without callback_url the upload works as before.
        const plain = yield* postJson("/upload", { content_type: "image/jpeg", content_length: 10 })
        expect(plain.status).toBe(201)
      }))
  })
})
