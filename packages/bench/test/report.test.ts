/**
 * The bench report (packages/bench/src/report): the targets computed from a run's results, and the
 * three renderings (stdout table, Markdown, SVG) of finished, failed and skipped sections.
 */
import { describe, expect, it } from "vitest"
import { markdown } from "../src/report/markdown.js"
import { type Results, targetsOf } from "../src/report/results.js"
import { stdoutTable } from "../src/report/summary.js"
import { svgChart } from "../src/report/svg.js"

const measurement = (cpuMs: number) => ({ cpuMs, wallMs: cpuMs, outputBytes: 1000, repetitions: 3 })

const apiRun = (target: "imgpipe" | "bare", endpoint: "upload" | "get_image", perCpuSecond: number) => ({
  target,
  endpoint,
  perCpuSecond,
  result: {
    requestsPerSecond: perCpuSecond / 2,
    total: 100,
    p50Ms: 2,
    p99Ms: 9,
    expected: 100,
    unexpected: 0,
    errors: 0
  }
})

const machine = {
  cpu: "test cpu",
  cores: 2,
  memoryGiB: 4,
  os: "Linux",
  node: "v22",
  sharp: "0.35",
  vips: "8.17",
  imagemagick: "ImageMagick 6",
  loadBefore: "0 / 0 / 0",
  loadAfter: "0 / 0 / 0",
  date: "2026-01-01T00:00:00Z"
}

const results: Results = {
  machine,
  seconds: 60,
  resize: {
    photos: [{
      name: "a.jpg",
      weight: 1,
      inputBytes: 1000,
      width: 100,
      height: 80,
      probeMs: 1,
      byMethod: {
        imgpipe: measurement(120),
        oneDecode: measurement(100),
        naive: measurement(150),
        imagemagick: measurement(600),
        imagemagickNaive: measurement(900),
        fromLarge: measurement(110)
      },
      skipped: {}
    }],
    sizes: {
      small: { width: 320, height: 320 },
      medium: { width: 1024, height: 1024 },
      large: { width: 2048, height: 2048 }
    },
    imagemagick: "ImageMagick 6",
    imagemagickMissing: undefined
  },
  pipeline: undefined,
  api: {
    results: [apiRun("imgpipe", "upload", 600), apiRun("bare", "upload", 1000)],
    pinning: "unpinned",
    database: "PostgreSQL",
    connections: 16,
    seconds: 8
  },
  lambda: { error: "esbuild failed" },
  memory: undefined
}

describe("bench report", () => {
  it("judges the targets from the measured ratios", () => {
    const targets = targetsOf(results)
    expect(targets.oneDecode).toEqual({ ratio: 1.2, met: true })
    expect(targets.magick).toEqual({ ratio: 5, met: true, naiveRatio: 7.5 })
    expect(targets.upload).toEqual({ share: 0.6, met: true, wallShare: 0.6 })
  })

  it("renders finished, failed and skipped sections", () => {
    const table = stdoutTable(results)
    expect(table).toMatch(/^section/)
    expect(table).toContain("≤ 1.3×: met")
    expect(table).toContain("esbuild failed")
    const doc = markdown(results)
    expect(doc).toContain("## 2. Embedded pipeline\n\nNot run.")
    expect(doc).toContain("## 4. Lambda cold start\n\nFailed: esbuild failed")
    expect(doc).toContain("1.20× — met")
    const svg = svgChart(results)
    expect(svg).toMatch(/^<svg /)
    expect(svg).toContain("Resize: CPU ms per image")
    expect(svg).not.toContain("Embedded pipeline")
  })
})
