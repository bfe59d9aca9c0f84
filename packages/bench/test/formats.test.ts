/**
 * The format-sets section's arithmetic (packages/bench/src/formats): what each client downloads of
 * a size, what a size stores, the mix-weighted means, the luma PSNR of the encoder comparison; its
 * rendering; and the splice that rewrites only some sections of docs/benchmarks.md.
 */
import { describe, expect, it } from "vitest"
import { lumaPsnr } from "../src/formats/encoders.js"
import {
  CLIENTS,
  downloadBytes,
  downloadFormat,
  type FormatPhoto,
  type FormatSetRun,
  type FormatsSection,
  runAggregate,
  type SizeOutput,
  storedBytes
} from "../src/formats/model.js"
import { formatsMarkdown, formatsSummary } from "../src/formats/report.js"
import { spliceSections } from "../src/report/sections.js"

const client = (id: "chrome" | "safari" | "old") => {
  const found = CLIENTS.find((c) => c.id === id)
  if (found === undefined) throw new Error(`no client ${id}`)
  return found
}

const opaque = (variants: SizeOutput["variants"], size: SizeOutput["size"] = "large"): SizeOutput => ({
  size,
  width: 100,
  height: 80,
  baseline: { format: "jpeg", bytes: 1000 },
  variants
})

const WEBP = { format: "webp", bytes: 700 } as const
const AVIF = { format: "avif", bytes: 400 } as const

describe("what a client downloads", () => {
  it("Chrome and Safari ≥ 16 take AVIF when it exists, else WebP, else the baseline", () => {
    for (const id of ["chrome", "safari"] as const) {
      expect(downloadFormat(client(id), opaque([WEBP, AVIF]))).toBe("avif")
      expect(downloadFormat(client(id), opaque([WEBP]))).toBe("webp")
      expect(downloadFormat(client(id), opaque([]))).toBe("jpeg")
      expect(downloadBytes(client(id), opaque([WEBP, AVIF]))).toBe(AVIF.bytes)
    }
  })

  it("an old browser always gets the baseline", () => {
    expect(downloadFormat(client("old"), opaque([WEBP, AVIF]))).toBe("jpeg")
    expect(downloadBytes(client("old"), opaque([WEBP, AVIF]))).toBe(1000)
  })

  it("an image with alpha serves its WebP baseline to a WebP client when there is no AVIF", () => {
    const alpha: SizeOutput = { ...opaque([]), baseline: { format: "webp", bytes: 900 } }
    expect(downloadFormat(client("chrome"), alpha)).toBe("webp")
    expect(downloadBytes(client("chrome"), { ...alpha, variants: [AVIF] })).toBe(AVIF.bytes)
  })

  it("stores the baseline and every extra", () => {
    expect(storedBytes(opaque([]))).toBe(1000)
    expect(storedBytes(opaque([WEBP, AVIF]))).toBe(1000 + WEBP.bytes + AVIF.bytes)
  })
})

const photo = (name: string, weight: number, cpuMs: number, scale: number, extras: boolean): FormatPhoto => ({
  name,
  weight,
  cpuMs,
  repetitions: 1,
  placeholder: true,
  sizes: (["small", "medium", "large"] as const).map((size, i) => ({
    size,
    width: 10,
    height: 10,
    baseline: { format: "jpeg", bytes: scale * (i + 1) * 100 },
    variants: extras ? [{ format: "avif", bytes: scale * (i + 1) * 40 }] : []
  }))
})

const run = (set: FormatSetRun["set"], extras: boolean, cpu: number): FormatSetRun => ({
  set,
  formats: extras ? ["avif"] : [],
  photos: [photo("a.jpg", 3, cpu, 1, extras), photo("b.jpg", 1, cpu * 2, 2, extras)],
  skipped: [],
  baselineRssMib: 100,
  peakRssMib: 200,
  seconds: 1
})

describe("mix-weighted means", () => {
  it("weights each photo by its mix weight, per size and over the three sizes", () => {
    const a = runAggregate(run("webp,avif", true, 100))
    // a.jpg (weight 3): 100 ms, baseline 100+200+300; b.jpg (weight 1): 200 ms, twice the bytes.
    expect(a.cpuMs).toBeCloseTo((3 * 100 + 1 * 200) / 4)
    expect(a.baseline).toBeCloseTo((3 * 600 + 1 * 1200) / 4)
    expect(a.stored).toBeCloseTo((3 * 600 * 1.4 + 1 * 1200 * 1.4) / 4)
    expect(a.download.chrome).toBeCloseTo((3 * 600 * 0.4 + 1 * 1200 * 0.4) / 4)
    expect(a.download.old).toBeCloseTo(a.baseline)
    expect(runAggregate(run("webp,avif", true, 100), "large").format("avif")).toBeCloseTo((3 * 120 + 240) / 4)
    // No AVIF stored: `format=avif` serves the baseline, so the column equals it (not a mean over nothing).
    const none = runAggregate(run("none", false, 100))
    expect(none.format("avif")).toBeCloseTo(none.baseline)
  })
})

describe("luma PSNR", () => {
  it("is infinite for identical pixels and 10·log10(255²/d²) for a uniform difference d", () => {
    const a = Buffer.from([10, 20, 30, 40, 50, 60])
    expect(lumaPsnr({ data: a, channels: 3 }, { data: a, channels: 3 }, 2)).toBe(Number.POSITIVE_INFINITY)
    const grey = Buffer.from([100, 100])
    const brighter = Buffer.from([104, 104, 104, 104, 104, 104])
    expect(lumaPsnr({ data: grey, channels: 1 }, { data: brighter, channels: 3 }, 2))
      .toBeCloseTo(10 * Math.log10((255 * 255) / 16), 6)
  })
})

const section = (runs: FormatsSection["runs"]): FormatsSection => ({
  sizes: {
    small: { width: 320, height: 320 },
    medium: { width: 1024, height: 1024 },
    large: { width: 2048, height: 2048 }
  },
  quick: false,
  runs,
  encoders: {
    photos: 2,
    candidates: [{ format: "avif", label: "AVIF q50 effort 3", chosen: true, cpuMs: 900, bytes: 5000, psnr: 40 }]
  }
})

describe("the section's report", () => {
  it("compares every set with the baseline and names a failed one", () => {
    const s = section([run("none", false, 100), run("webp,avif", true, 300), { set: "webp", error: "boom" }])
    const doc = formatsMarkdown(s)
    expect(doc).toContain("| `none` | 0.13 | 1.00× |")
    expect(doc).toContain("| `webp,avif` | 0.38 | 3.00× |")
    expect(doc).toContain("Failed: webp.")
    expect(doc).toContain("**AVIF q50 effort 3**")
    const summary = formatsSummary(s)
    expect(summary.map((r) => r.what)).toEqual([
      "IMGPIPE_FORMATS=none",
      "IMGPIPE_FORMATS=webp,avif",
      "IMGPIPE_FORMATS=webp"
    ])
    expect(summary[2]?.result).toContain("failed: boom")
  })
})

describe("splicing sections into the document", () => {
  const existing = "# B\n\n## One\n\nold one\n\n## Two\n\nold two\n"
  it("replaces only the named sections", () => {
    const generated = "# B\n\n## One\n\nnew one\n\n## Two\n\nnew two\n"
    expect(spliceSections(existing, generated, ["## Two"])).toBe("# B\n\n## One\n\nold one\n\n## Two\n\nnew two\n")
    expect(spliceSections(existing, generated, ["## One"])).toBe("# B\n\n## One\n\nnew one\n\n## Two\n\nold two\n")
  })

  it("puts the note under each replaced heading", () => {
    const generated = "# B\n\n## Two\n\nnew two\n"
    expect(spliceSections(existing, generated, ["## Two"], "_alone_"))
      .toBe("# B\n\n## One\n\nold one\n\n## Two\n\n_alone_\n\nnew two\n")
  })

  it("appends a section the document does not have yet", () => {
    const generated = "# B\n\n## Three\n\nnew three\n"
    expect(spliceSections(existing, generated, ["## Three"])).toBe(`${existing}\n## Three\n\nnew three\n`)
  })
})
