/** The SSRF guard's address rules and URL checks (util/ssrf.ts), with names from a fixed table. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { checkDestination, fixedResolver, nonPublicReason } from "../src/util/ssrf.js"

describe("nonPublicReason", () => {
  it("refuses every non-public range, IPv4-mapped forms included", () => {
    for (
      const address of [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "64:ff9b::a00:1"
      ]
    ) {
      expect(nonPublicReason(address), address).toBeDefined()
    }
  })

  it("accepts public unicast addresses", () => {
    for (const address of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      expect(nonPublicReason(address), address).toBeUndefined()
    }
  })
})

describe("checkDestination", () => {
  const resolver = fixedResolver({ "hooks.example.com": ["93.184.216.34"], "db.internal": ["10.0.0.9"] })

  it.effect("https to a public host passes; a hostname resolving to 10.x is refused", () =>
    Effect.gen(function* () {
      const ok = yield* checkDestination("https://hooks.example.com/a", { allowPrivate: false })
      expect(ok.hostname).toBe("hooks.example.com")
      const refused = yield* Effect.flip(checkDestination("https://db.internal/", { allowPrivate: false }))
      expect(refused.message).toMatch(/db\.internal resolves to a private or reserved address \(10\.0\.0\.9/)
    }).pipe(Effect.provide(resolver)))

  it.effect("with private destinations allowed: plain http and loopback pass, other schemes still do not", () =>
    Effect.gen(function* () {
      yield* checkDestination("http://127.0.0.1:4000/hook", { allowPrivate: true })
      yield* checkDestination("http://db.internal/", { allowPrivate: true })
      const refused = yield* Effect.flip(checkDestination("ftp://hooks.example.com/", { allowPrivate: true }))
      expect(refused.message).toMatch(/http\(s\) URL/)
      const http = yield* Effect.flip(checkDestination("http://hooks.example.com/", { allowPrivate: false }))
      expect(http.message).toMatch(/https URL/)
    }).pipe(Effect.provide(resolver)))
})
