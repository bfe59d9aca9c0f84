/**
 * The resize section's pure parts: how many samples a method gets, which photos weigh in a mix,
 * the cost per upload with refusals, and the report's rows and target lines for every mix.
 */
import { describe, expect, it } from "vitest"
import { resizeAggregates, resizeTargetsOf, type Results, targetsOf } from "../src/report/results.js"
import {
  type Measurement,
  type MethodId,
  perUpload,
  type PhotoResult,
  repetitionsFor,
  type ResizeMix,
  type ResizeSection,
  weightyPhotos
} from "../src/resize/methods.js"
import { resizeMarkdown, resizeSummaryRows, resizeTargetLines } from "../src/resize/report.js"

const m = (cpuMs: number, outputBytes = 1000): Measurement => ({ cpuMs, wallMs: cpuMs, outputBytes, repetitions: 3 })

const photo = (name: string, weight: number, byMethod: Partial<Record<MethodId, Measurement>>): PhotoResult => ({
  name,
  weight,
  inputBytes: 100_000,
  width: 1000,
  height: 1000,
  probeMs: 1,
  byMethod,
  skipped: {}
})

const sizes = {
  small: { width: 320, height: 320 },
  medium: { width: 1024, height: 1024 },
  large: { width: 2048, height: 2048 }
}

const photosMix: ResizeMix = {
  name: "photos",
  photos: [
    photo("a.jpg", 3, { imgpipe: m(300), oneDecode: m(200), naive: m(150), fromLarge: m(250) }),
    photo("b.jpg", 1, { imgpipe: m(700), oneDecode: m(400), naive: m(350), fromLarge: m(650) })
  ],
  refused: []
}

const phoneMix: ResizeMix = {
  name: "phone",
  photos: [
    photo("c.jpg", 8, { imgpipe: m(1200), oneDecode: m(1000), naive: m(800), fromLarge: m(1100) }),
    photo("a.jpg", 1, { imgpipe: m(300), oneDecode: m(200), naive: m(150), fromLarge: m(250) })
  ],
  refused: [{
    name: "x.heic",
    weight: 1,
    declared: "image/jpeg",
    expected: "unsupported_format",
    code: "unsupported_format",
    probeMs: 10
  }]
}

const section: ResizeSection = {
  photos: photosMix.photos,
  mixes: [photosMix, phoneMix],
  sizes,
  imagemagick: undefined,
  imagemagickMissing:
    "ImageMagick is not measured: no `convert` on this machine. Install it with `apt-get install imagemagick`"
}

describe("resize section", () => {
  it("repetitions: the budget decides between the floor and the cap", () => {
    expect(repetitionsFor(1000, 400, 3, 6)).toBe(3)
    expect(repetitionsFor(1000, 400, 1, 6)).toBe(1)
    expect(repetitionsFor(50, 400, 1, 6)).toBe(6)
    expect(repetitionsFor(150, 400, 1, 6)).toBe(3)
    expect(repetitionsFor(0, 400, 1, 3)).toBe(3)
  })

  it("weighty photos: ≥ the share of some mix's accepted weight; refusals do not count", () => {
    const names = weightyPhotos([
      { entries: [{ name: "big", weight: 90 }, { name: "tail", weight: 9 }, { name: "x", weight: 1 }] },
      {
        entries: [{ name: "tail", weight: 5 }, { name: "z", weight: 45 }, {
          name: "refused",
          weight: 50,
          refused: "unsupported_format"
        }]
      }
    ], 0.1)
    expect([...names].sort()).toEqual(["big", "tail", "z"])
  })

  it("per upload: accepted photos weighted, refusals at their header read", () => {
    // (8 × 1200 + 1 × 300 + 1 × 10) / 10
    expect(perUpload(phoneMix, "imgpipe")).toBeCloseTo(991, 6)
    expect(perUpload(phoneMix, "imagemagick")).toBeNaN()
  })

  it("means and targets per mix: each mix weighs its own photos", () => {
    expect(resizeAggregates(section).imgpipe?.cpuMs).toBeCloseTo((3 * 300 + 700) / 4, 6)
    expect(resizeAggregates(section, phoneMix).imgpipe?.cpuMs).toBeCloseTo((8 * 1200 + 300) / 9, 6)
    const phone = resizeTargetsOf(resizeAggregates(section, phoneMix))
    expect(phone.oneDecode?.ratio).toBeCloseTo((8 * 1200 + 300) / (8 * 1000 + 200), 6)
    expect(phone.oneDecode?.met).toBe(true)
    const results = { resize: section, pipeline: undefined, api: undefined, lambda: undefined } as unknown as Results
    const targets = targetsOf(results)
    expect(targets.resizeByMix.map((t) => t.mix)).toEqual(["photos", "phone"])
    expect(targets.oneDecode?.ratio).toBeCloseTo(1600 / 1000, 6)
    expect(targets.oneDecode?.met).toBe(false)
  })

  it("the report: summary rows and target lines for both mixes; a missing ImageMagick names the install command", () => {
    const rows = resizeSummaryRows(section)
    expect(new Set(rows.map((r) => r.section))).toEqual(new Set(["resize · photos", "resize · phone"]))
    const magick = rows.filter((r) => r.what.startsWith("ImageMagick"))
    expect(magick).toHaveLength(4)
    for (const row of magick) expect(row.result).toBe("not measured: `apt-get install imagemagick`")
    const lines = resizeTargetLines(
      targetsOf({ resize: section, pipeline: undefined, api: undefined, lambda: undefined } as unknown as Results),
      section
    )
    expect(lines[0]).toContain("`photos` 1.60× — missed")
    expect(lines[0]).toContain("`phone` 1.21× — met")
    expect(lines[1]).toContain("`apt-get install imagemagick`")
    const md = resizeMarkdown(section)
    expect(md).toContain("### The `photos` mix")
    expect(md).toContain("### The `phone` mix")
    expect(md).toContain("refused `unsupported_format` by `Resizer.probe`")
    expect(md).toContain("apt-get install imagemagick")
  })

  it("results from before the phone mix (no `mixes`) still report the photos mix", () => {
    const old: ResizeSection = {
      photos: photosMix.photos,
      sizes,
      imagemagick: "ImageMagick 6",
      imagemagickMissing: undefined
    }
    expect(resizeSummaryRows(old).every((r) => r.section === "resize · photos")).toBe(true)
  })
})
