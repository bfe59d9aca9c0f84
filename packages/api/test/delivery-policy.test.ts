/**
 * `get_image`'s cache policy and content negotiation as pure functions (delivery.test.ts checks
 * the same through the server): milliseconds, no server.
 */
import { describe, expect, it } from "@effect/vitest"
import { cacheControlFor, EXACT_MAX_AGE_SECONDS, FALLBACK_CACHE_CONTROL, wantsJson } from "../src/delivery/Http.js"

const now = Date.parse("2026-01-01T00:00:00Z")
const inSeconds = (seconds: number) => new Date(now + seconds * 1000)

describe("cacheControlFor", () => {
  it("never lets a fallback be cached", () => {
    expect(cacheControlFor({ fallback: true, expiresAt: inSeconds(3600) }, now)).toBe(FALLBACK_CACHE_CONTROL)
    expect(FALLBACK_CACHE_CONTROL).toBe("no-store")
  })

  it("caches the exact size for at most 300 s", () => {
    expect(EXACT_MAX_AGE_SECONDS).toBe(300)
    expect(cacheControlFor({ fallback: false, expiresAt: inSeconds(3600) }, now)).toBe("public, max-age=300")
  })

  it("caches a stable (cdn) URL's exact size for 300 s, and never a fallback", () => {
    expect(cacheControlFor({ fallback: false, expiresAt: null }, now)).toBe("public, max-age=300")
    expect(cacheControlFor({ fallback: true, expiresAt: null }, now)).toBe("no-store")
  })

  it("caches for at most a quarter of the URL's remaining life, and not at all under a second", () => {
    expect(cacheControlFor({ fallback: false, expiresAt: inSeconds(400) }, now)).toBe("public, max-age=100")
    expect(cacheControlFor({ fallback: false, expiresAt: inSeconds(4) }, now)).toBe("public, max-age=1")
    expect(cacheControlFor({ fallback: false, expiresAt: inSeconds(3) }, now)).toBe("no-store")
    expect(cacheControlFor({ fallback: false, expiresAt: inSeconds(-10) }, now)).toBe("no-store")
  })
})

describe("wantsJson", () => {
  it("is true when application/json is acceptable", () => {
    expect(wantsJson("application/json")).toBe(true)
    expect(wantsJson("text/html;q=0.9, application/json")).toBe(true)
    expect(wantsJson("Application/JSON; q=0.5")).toBe(true)
  })

  it("keeps the redirect without an Accept, for wildcards, images and q=0", () => {
    expect(wantsJson(undefined)).toBe(false)
    expect(wantsJson("*/*")).toBe(false)
    expect(wantsJson("application/*")).toBe(false)
    expect(wantsJson("image/avif,image/webp,*/*;q=0.8")).toBe(false)
    expect(wantsJson("application/json;q=0")).toBe(false)
  })
})
