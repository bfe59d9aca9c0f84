import { describe, expect, it } from "vitest"
import { configurations, meanViewBytes } from "../src/cost/configs.js"
import {
  type Assumptions,
  breakEvenViews,
  type Configuration,
  costOf,
  type Prices,
  requestsPerImage
} from "../src/cost/model.js"
import { type Price, PRICES, tieredCost } from "../src/cost/prices.js"
import type { FormatsSection, SizeOutput } from "../src/formats/model.js"
import type { ResizeSection } from "../src/resize/methods.js"

const assumptions: Assumptions = {
  imagesPerMonth: 1e6,
  viewsPerImage: 20,
  viewMix: { small: 0.6, medium: 0.3, large: 0.1 },
  cacheHitRatio: 0.9,
  memoryMb: 1024,
  batches: { start: 10, process: { small: 10, medium: 10, large: 5 } }
}

const config: Configuration = {
  id: "test",
  label: "test",
  source: "test",
  cpuSeconds: 0.5,
  originalBytes: 400_000,
  storedBytes: 300_000,
  extraObjects: 3,
  viewBytes: { small: 10_000, medium: 100_000, large: 200_000 }
}

const flat = (unit: string, price: number): Price => ({
  unit,
  tiers: [{ upTo: Number.POSITIVE_INFINITY, price }],
  source: "test"
})

/** Every price flat at its first tier: parts then scale linearly with their quantity. */
const flatPrices = Object.fromEntries(
  Object.entries(PRICES).map(([k, p]) => [k, flat(p.unit, p.tiers[0]?.price ?? 0)])
) as unknown as Prices

describe("tieredCost", () => {
  const price: Price = {
    unit: "GB",
    tiers: [{ upTo: 10, price: 2 }, { upTo: 50, price: 1 }, { upTo: Number.POSITIVE_INFINITY, price: 0.5 }],
    source: "test"
  }
  it("charges each tier its own price", () => {
    expect(tieredCost(price, 5)).toBe(10)
    expect(tieredCost(price, 30)).toBe(20 + 20)
    expect(tieredCost(price, 100)).toBe(20 + 40 + 25)
  })
  it("matches docs/deploy.md's CloudFront transfer for 319 TB (~$16,790)", () => {
    expect(tieredCost(PRICES.cloudfrontTransferGb, 318_900)).toBeCloseTo(16_806, 0)
  })
})

describe("requestsPerImage", () => {
  it("counts docs/aws-requests.md's full batches: 2.3 SQS requests, 0.5 invocations, 4 + E PUTs, 3 GETs", () => {
    const r = requestsPerImage({ extraObjects: 3 }, assumptions.batches)
    expect(r.sqs).toBeCloseTo(2.3, 10)
    expect(r.invocations).toBeCloseTo(0.5, 10)
    expect(r.s3Puts).toBe(7)
    expect(r.s3Gets).toBe(3)
  })
  it("gives the doc's 2.1 SQS requests with every batch at 10", () => {
    const r = requestsPerImage({ extraObjects: 0 }, { start: 10, process: { small: 10, medium: 10, large: 10 } })
    expect(r.sqs).toBeCloseTo(2.1, 10)
    expect(r.invocations).toBeCloseTo(0.4, 10)
  })
})

describe("costOf", () => {
  it("a hand-computed case, per million images at flat first-tier prices", () => {
    const c = costOf(config, assumptions, flatPrices)
    // 0.5 s × 1 GB × 1e6 × $0.0000166667
    expect(c.parts.computeX86).toBeCloseTo(8.33335, 4)
    expect(c.parts.computeArm).toBeCloseTo(6.6667, 4)
    // 0.5 invocations × $0.20 per million
    expect(c.parts.invocations).toBeCloseTo(0.1, 10)
    // 2.3 × $0.40 per million
    expect(c.parts.sqs).toBeCloseTo(0.92, 10)
    // 7 PUTs × $5 per million + 3 GETs × $0.40 per million
    expect(c.parts.s3Requests).toBeCloseTo(35 + 1.2, 10)
    // 700 kB × 1e6 = 700 GB × $0.023
    expect(c.parts.storage).toBeCloseTo(16.1, 10)
    // per view 0.6 × 10 kB + 0.3 × 100 kB + 0.1 × 200 kB = 56 kB; × 20 views × 1e6 = 1,120 GB × $0.085
    expect(c.bytesPerView).toBe(56_000)
    expect(c.parts.transfer).toBeCloseTo(95.2, 10)
    // 20M HTTPS requests × $1 per million + 2M misses × $0.40 per million
    expect(c.parts.deliveryRequests).toBeCloseTo(20 + 0.8, 10)
    expect(c.totalX86 - c.totalArm).toBeCloseTo(c.parts.computeX86 - c.parts.computeArm, 10)
  })
  it("doubling the views doubles the transfer and the delivery requests (flat prices), nothing else", () => {
    const once = costOf(config, assumptions, flatPrices)
    const twice = costOf(config, { ...assumptions, viewsPerImage: 40 }, flatPrices)
    expect(twice.parts.transfer).toBeCloseTo(2 * once.parts.transfer, 8)
    expect(twice.parts.deliveryRequests).toBeCloseTo(2 * once.parts.deliveryRequests, 8)
    expect(twice.parts.storage).toBe(once.parts.storage)
    expect(twice.parts.computeX86).toBe(once.parts.computeX86)
  })
  it("with the real tiers, doubling the views at scale costs more but less than double per GB", () => {
    const scale = { ...assumptions, imagesPerMonth: 300e6 }
    const once = costOf(config, scale).parts.transfer
    const twice = costOf(config, { ...scale, viewsPerImage: 40 }).parts.transfer
    expect(twice).toBeGreaterThan(once)
    expect(twice).toBeLessThan(2 * once)
  })
  it("more bytes stored → more storage; more CPU → more compute", () => {
    const base = costOf(config, assumptions)
    const bigger = costOf({ ...config, storedBytes: 600_000 }, assumptions)
    const slower = costOf({ ...config, cpuSeconds: 1 }, assumptions)
    expect(bigger.parts.storage).toBeGreaterThan(base.parts.storage)
    expect(slower.parts.computeX86).toBeCloseTo(2 * base.parts.computeX86, 8)
    expect(slower.parts.storage).toBe(base.parts.storage)
  })
})

describe("breakEvenViews", () => {
  it("finds where fewer bytes per view repay more CPU (hand-computed at flat prices)", () => {
    // +1 CPU-s at 1 GB: +$16.6667 per million; −10 kB on every view: −$0.85 per million per view.
    const candidate = {
      ...config,
      cpuSeconds: config.cpuSeconds + 1,
      viewBytes: { small: 0, medium: 90_000, large: 190_000 }
    }
    expect(breakEvenViews(candidate, config, assumptions, flatPrices)).toBeCloseTo(16.6667 / 0.85, 1)
    expect(breakEvenViews(config, candidate, assumptions, flatPrices)).toBeUndefined()
    expect(breakEvenViews(config, config, assumptions, flatPrices)).toBe(0)
  })
})

const size = (name: SizeOutput["size"], jpeg: number, webp?: number, avif?: number): SizeOutput => ({
  size: name,
  width: 1,
  height: 1,
  baseline: { format: "jpeg", bytes: jpeg },
  variants: [
    ...(webp === undefined ? [] : [{ format: "webp" as const, bytes: webp }]),
    ...(avif === undefined ? [] : [{ format: "avif" as const, bytes: avif }])
  ]
})

describe("meanViewBytes", () => {
  it("follows chooseFormat: AVIF for the AVIF browsers, WebP for WebP-only, JPEG for the rest", () => {
    const clients = [
      { label: "a", accept: "image/avif,image/webp,*/*", share: 0.5 },
      { label: "w", accept: "image/webp,image/*,*/*;q=0.8", share: 0.25 },
      { label: "o", accept: "image/*,*/*;q=0.8", share: 0.25 }
    ]
    expect(meanViewBytes(size("small", 100, 80, 40), clients)).toBe(0.5 * 40 + 0.25 * 80 + 0.25 * 100)
    expect(meanViewBytes(size("small", 100), clients)).toBe(100)
  })
})

describe("configurations", () => {
  const run = (set: "none" | "webp", webp?: number) => ({
    set,
    formats: set === "none" ? [] : ["webp" as const],
    photos: [{
      name: "a.jpg",
      weight: 1,
      cpuMs: 300,
      repetitions: 1,
      placeholder: true,
      sizes: [size("small", 10, webp), size("medium", 30, webp), size("large", 60, webp)]
    }],
    skipped: [],
    baselineRssMib: 0,
    peakRssMib: 0,
    seconds: 0
  })
  const formats: FormatsSection = {
    sizes: {
      small: { width: 320, height: 320 },
      medium: { width: 1024, height: 1024 },
      large: { width: 2048, height: 2048 }
    },
    quick: false,
    runs: [run("none"), run("webp", 5)],
    encoders: undefined
  }
  const resize: ResizeSection = {
    photos: [{
      name: "a.jpg",
      weight: 1,
      inputBytes: 1000,
      width: 1,
      height: 1,
      probeMs: 1,
      byMethod: {
        imgpipe: { cpuMs: 250, wallMs: 250, outputBytes: 100, repetitions: 1 },
        naive: { cpuMs: 200, wallMs: 200, outputBytes: 200, repetitions: 1 }
      },
      skipped: { imagemagick: "ImageMagick is not installed: apt-get install imagemagick" }
    }],
    sizes: formats.sizes,
    imagemagick: undefined,
    imagemagickMissing: "ImageMagick is not installed: apt-get install imagemagick"
  }

  it("builds each format set and splits the naive loop's bytes over the sizes as imgpipe's baseline splits", () => {
    const { configs, missing } = configurations({ resize, formats, inputBytes: () => 1000, shipped: "webp" })
    const webp = configs.find((c) => c.id === "formats:webp")
    expect(webp?.label).toContain("as shipped")
    expect(webp?.extraObjects).toBe(3)
    expect(webp?.storedBytes).toBe(100 + 15)
    const naive = configs.find((c) => c.id === "resize:naive")
    // imgpipe's baseline is 10 / 30 / 60 of 100: the naive loop's 200 bytes split the same way.
    expect(naive?.viewBytes).toEqual({ small: 20, medium: 60, large: 120 })
    expect(naive?.cpuSeconds).toBe(0.2)
    expect(naive?.duplicateOf).toBeUndefined()
    // The resize section's own imgpipe row is a second measurement of IMGPIPE_FORMATS=none.
    expect(configs.find((c) => c.id === "resize:imgpipe")?.duplicateOf).toBe("formats:none")
    expect(missing.map((m) => m.reason)).toEqual(["ImageMagick is not installed: apt-get install imagemagick"])
  })

  it("prices another mix of the resize section with imgpipe's mean split, as its own rows", () => {
    const phonePhoto = { ...resize.photos[0]!, name: "b.jpg", inputBytes: 3000 }
    const withPhone: ResizeSection = {
      ...resize,
      mixes: [{ name: "photos", photos: resize.photos, refused: [] }, {
        name: "phone",
        photos: [phonePhoto],
        refused: []
      }]
    }
    const { configs } = configurations({ resize: withPhone, formats, inputBytes: () => 1000, shipped: "webp" })
    const naive = configs.find((c) => c.id === "resize:naive:phone")
    expect(naive?.mix).toBe("phone")
    expect(naive?.label).toContain("phone mix")
    expect(naive?.originalBytes).toBe(3000)
    // b.jpg is not in the formats run: the mean split of its photos (10 / 30 / 60 %).
    expect(naive?.viewBytes.small).toBeCloseTo(20, 10)
    expect(naive?.viewBytes.large).toBeCloseTo(120, 10)
  })

  it("says what is missing instead of inventing numbers", () => {
    const { configs, missing } = configurations({
      resize: undefined,
      formats: undefined,
      inputBytes: () => 1,
      shipped: "webp"
    })
    expect(configs).toEqual([])
    expect(missing.map((m) => m.reason)).toEqual([
      "the formats section was not run",
      "the resize section was not run",
      "the resize section was not run",
      "the resize section was not run"
    ])
  })
})
