/** `chooseFormat`: the encoding `get_image` serves, by `format=` and by the request's `Accept`. */
import { describe, expect, it } from "@effect/vitest"
import { chooseFormat, explicitQValues, type RequestedFormat } from "../src/domain/delivery.js"
import type { OutputFormat } from "../src/domain/formats.js"

/** Image requests as the browsers send them (`<img src>`), and what else asks. */
const ACCEPT = {
  chrome: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
  chromeNavigation:
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
  firefox: "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
  safari17:
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
  safari15: "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
  safari13: "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
  curl: "*/*"
} as const

type Available = readonly [OutputFormat, ...ReadonlyArray<OutputFormat>]
const ALL: Available = ["jpeg", "webp", "avif"]
const WEBP_ONLY: Available = ["jpeg", "webp"]
const BASELINE_ONLY: Available = ["jpeg"]
/** An image with alpha: the baseline is WebP and no `.webp` extra exists. */
const ALPHA: Available = ["webp", "avif"]

const auto = (accept: string | undefined, available: Available = ALL) =>
  chooseFormat({ accept, requested: "auto", available })

describe("chooseFormat by Accept (format=auto)", () => {
  it("serves what each browser names: AVIF where it exists, else WebP, else the baseline", () => {
    expect(auto(ACCEPT.chrome)).toBe("avif")
    expect(auto(ACCEPT.chromeNavigation)).toBe("avif")
    expect(auto(ACCEPT.firefox)).toBe("avif")
    // Safari lists WebP first at the same q: a tie, AVIF (the smaller) wins.
    expect(auto(ACCEPT.safari17)).toBe("avif")
    expect(auto(ACCEPT.safari15)).toBe("webp")
    expect(auto(ACCEPT.safari13)).toBe("jpeg")

    expect(auto(ACCEPT.chrome, WEBP_ONLY)).toBe("webp")
    expect(auto(ACCEPT.safari15, WEBP_ONLY)).toBe("webp")
    expect(auto(ACCEPT.chrome, BASELINE_ONLY)).toBe("jpeg")
  })

  it("serves the baseline without Accept, for wildcards alone, and to non-image clients", () => {
    expect(auto(undefined)).toBe("jpeg")
    expect(auto("")).toBe("jpeg")
    expect(auto(ACCEPT.curl)).toBe("jpeg")
    expect(auto("image/*")).toBe("jpeg")
    expect(auto("image/*, */*;q=0.1")).toBe("jpeg")
    expect(auto("text/html,application/xhtml+xml")).toBe("jpeg")
    expect(auto("image/jpeg")).toBe("jpeg")
  })

  it("honours q-values: the highest wins, ties go to AVIF, q=0 refuses", () => {
    expect(auto("image/webp;q=0.9, image/avif;q=0.5")).toBe("webp")
    expect(auto("image/webp;q=0.5, image/avif;q=0.9")).toBe("avif")
    expect(auto("image/webp;q=0.7, image/avif;q=0.7")).toBe("avif")
    expect(auto("image/avif;q=0, image/webp")).toBe("webp")
    expect(auto("image/webp;q=0")).toBe("jpeg")
    expect(auto("image/avif;q=0, image/webp;q=0, */*")).toBe("jpeg")
    expect(auto("image/avif;q=0.001")).toBe("avif")
    // A type named twice keeps its lowest q: a refusal anywhere stands.
    expect(auto("image/avif, image/avif;q=0, image/webp")).toBe("webp")
  })

  it("keeps the baseline when the client rates it strictly above every extra it names", () => {
    expect(auto("image/jpeg, image/webp;q=0.5")).toBe("jpeg")
    expect(auto("image/jpeg;q=0.5, image/webp")).toBe("webp")
    expect(auto("image/jpeg, image/webp")).toBe("webp")
    expect(auto("image/jpeg;q=0.9, image/avif;q=0.8, image/webp;q=0.95")).toBe("webp")
  })

  it("ignores case, whitespace and other parameters", () => {
    expect(auto("  IMAGE/AVIF ; Q=0.9 ,Image/WebP;q=1.0")).toBe("webp")
    expect(auto("image/avif;codecs=av01;q=0.8,image/webp;q=0.7")).toBe("avif")
    expect(auto("image/avif ;q= 0.6 , image/webp ; q =0.4")).toBe("avif")
    expect(auto(",,image/webp,,")).toBe("webp")
  })

  it("ignores a range whose q is malformed (the baseline every client decodes is served instead)", () => {
    expect(auto("image/avif;q=abc")).toBe("jpeg")
    expect(auto("image/avif;q=2")).toBe("jpeg")
    expect(auto("image/avif;q=-1")).toBe("jpeg")
    expect(auto("image/avif;q=")).toBe("jpeg")
    expect(auto("image/avif;q=1e-1")).toBe("jpeg")
    expect(auto("image/avif;q=abc, image/webp;q=0.3")).toBe("webp")
    expect(auto("image/avif;q=.5")).toBe("avif")
  })

  it("falls back to the baseline when the extras named are not stored (not made yet, or not configured)", () => {
    expect(auto("image/avif", WEBP_ONLY)).toBe("jpeg")
    expect(auto("image/avif", BASELINE_ONLY)).toBe("jpeg")
    expect(auto("image/webp", BASELINE_ONLY)).toBe("jpeg")
  })

  it("an image with alpha: WebP is its baseline; AVIF only when named", () => {
    expect(auto(ACCEPT.curl, ALPHA)).toBe("webp")
    expect(auto(ACCEPT.safari15, ALPHA)).toBe("webp")
    expect(auto(ACCEPT.chrome, ALPHA)).toBe("avif")
    expect(auto("image/webp, image/avif;q=0.5", ALPHA)).toBe("webp")
    expect(auto("image/avif", ["webp"])).toBe("webp")
  })
})

describe("chooseFormat by format=", () => {
  const explicit = (requested: RequestedFormat, available: Available, accept?: string) =>
    chooseFormat({ accept, requested, available })

  it("serves the encoding named, whatever Accept says", () => {
    expect(explicit("avif", ALL, "image/webp")).toBe("avif")
    expect(explicit("webp", ALL, ACCEPT.chrome)).toBe("webp")
    expect(explicit("webp", ALL, "image/webp;q=0")).toBe("webp")
  })

  it("jpeg means the baseline (WebP for an image with alpha)", () => {
    expect(explicit("jpeg", ALL, ACCEPT.chrome)).toBe("jpeg")
    expect(explicit("jpeg", ALPHA, ACCEPT.chrome)).toBe("webp")
  })

  it("a missing encoding falls back (AVIF → WebP → baseline), never fails", () => {
    expect(explicit("avif", WEBP_ONLY)).toBe("webp")
    expect(explicit("avif", BASELINE_ONLY)).toBe("jpeg")
    expect(explicit("webp", BASELINE_ONLY)).toBe("jpeg")
    expect(explicit("webp", ALPHA)).toBe("webp")
    expect(explicit("avif", ["webp"])).toBe("webp")
  })
})

describe("explicitQValues", () => {
  it("maps each type named exactly to its q, leaving wildcards out", () => {
    expect(Object.fromEntries(explicitQValues(ACCEPT.firefox))).toEqual({
      "image/avif": 1,
      "image/webp": 1,
      "image/png": 1,
      "image/svg+xml": 1
    })
    expect(Object.fromEntries(explicitQValues("image/webp;q=0.25,image/avif;q=0"))).toEqual({
      "image/webp": 0.25,
      "image/avif": 0
    })
  })
})
