/**
 * The k6 scripts' report (loadtest/lib/summary.js), fed a summary shaped as k6 v0.48 hands it to
 * handleSummary: the text verdict names every threshold that failed, and the HTML report draws
 * latency over time from the per-bucket Trends that timeline.js records. summary.js needs only
 * two of k6's globals at load (`__ENV`, and `open` for the image mix, which resolves paths from
 * loadtest/lib as k6 does for a module there); both are provided as k6 would.
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"

const lib = resolve(import.meta.dirname, "../../../loadtest/lib")

interface MetricValues {
  readonly [stat: string]: number
}
interface Metric {
  readonly type: "trend" | "rate" | "counter" | "gauge"
  readonly contains: "time" | "default" | "data"
  readonly values: MetricValues
  readonly thresholds?: Record<string, { readonly ok: boolean }>
}
interface Row {
  readonly metric: string
  readonly source: string
  readonly ok: boolean
  readonly value: string
}
interface SummaryModule {
  summarize(data: unknown, meta: Record<string, unknown>): Record<string, string>
}
interface VerdictModule {
  thresholdResults(metrics: Record<string, Metric>): Array<Row>
  verdict(rows: ReadonlyArray<Row>): { passed: boolean; headline: string; failed: Array<Row> }
}
interface TimelineModule {
  bucketPlan(totalSeconds: number): { bucketSeconds: number; buckets: number }
  bucketOf(plan: { bucketSeconds: number; buckets: number }, elapsedMs: number): number
  timelineMetricName(endpoint: string, index: number): string
  timelineSeries(metrics: Record<string, Metric>, bucketSeconds: number, order?: ReadonlyArray<string>): Array<{
    endpoint: string
    points: Array<{ t: number; p50: number; p95: number; count: number }>
  }>
  timelineSvg(series: ReadonlyArray<unknown>, budgets: Record<string, number>, bucketSeconds: number): string
}

const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(resolve(lib, file)).href)) as T

const trend = (p95: number, thresholds?: Record<string, { ok: boolean }>): Metric => ({
  type: "trend",
  contains: "time",
  values: {
    avg: p95 / 2,
    min: 1,
    med: p95 / 2,
    max: p95 * 2,
    "p(90)": p95 * 0.9,
    "p(95)": p95,
    "p(99)": p95 * 1.5,
    count: 100
  },
  ...(thresholds ? { thresholds } : {})
})

/** A run where 3 of the 6 thresholds failed, with a latency timeline of three 2-second buckets. */
const failedRun = () => {
  const metrics: Record<string, Metric> = {
    http_req_failed: {
      type: "rate",
      contains: "default",
      values: { rate: 0.02, passes: 20, fails: 980 },
      thresholds: { "rate<0.001": { ok: false } }
    },
    checks: {
      type: "rate",
      contains: "default",
      values: { rate: 0.9995, passes: 1999, fails: 1 },
      thresholds: { "rate>0.999": { ok: true } }
    },
    dropped_iterations: {
      type: "counter",
      contains: "default",
      values: { count: 0, rate: 0 },
      thresholds: { "count<=1": { ok: true } }
    },
    "http_req_duration{endpoint:upload}": trend(517, { "p(95)<300": { ok: false } }),
    "http_req_duration{endpoint:put}": trend(90, { "p(95)<1000": { ok: true } }),
    "http_req_duration{endpoint:get_image}": trend(240, { "p(95)<200": { ok: false } }),
    iterations: { type: "counter", contains: "default", values: { count: 1000, rate: 100 } },
    http_reqs: { type: "counter", contains: "default", values: { count: 2000, rate: 200 } },
    data_sent: { type: "counter", contains: "data", values: { count: 4e8, rate: 4e7 } },
    timeline_upload_000: trend(40),
    timeline_upload_001: trend(350),
    timeline_upload_002: trend(900),
    timeline_put_000: trend(80),
    timeline_put_002: trend(95)
  }
  return {
    metrics,
    root_group: {
      name: "",
      path: "",
      checks: [{ name: "upload: 201 with a ticket", passes: 999, fails: 1 }],
      groups: []
    },
    state: { testRunDurationMs: 6000, isStdOutTTY: false, isStdErrTTY: false }
  }
}

const meta = {
  script: "upload.js",
  scenario: "steady",
  base_url: "http://localhost:3000",
  expected_iterations: 1000,
  peak_rate: 116,
  budgets_ms: { upload: 300, put: 1000, get_image: 200 },
  timeline: { bucket_s: 2 },
  mix: []
}

describe("k6 report", () => {
  let summary: SummaryModule
  let verdictModule: VerdictModule
  let timeline: TimelineModule

  beforeAll(async () => {
    // What k6 provides to every module: the -e variables, and open() relative to the module.
    Object.assign(globalThis, {
      __ENV: { RESULTS_DIR: "/tmp/imgpipe-loadtest-report-test" },
      open: (path: string, mode?: string) => {
        const bytes = readFileSync(resolve(lib, path))
        return mode === "b"
          ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
          : bytes.toString("utf8")
      }
    })
    summary = await load<SummaryModule>("summary.js")
    verdictModule = await load<VerdictModule>("verdict.js")
    timeline = await load<TimelineModule>("timeline-chart.js")
  })

  it("the text verdict names each failed threshold, and marks every threshold ok or FAILED", () => {
    const stdout = summary.summarize(failedRun(), meta).stdout!
    expect(stdout).toContain(
      "FAILED: 3 of 6 thresholds crossed: http_req_duration{endpoint:get_image} p(95)<200, " +
        "http_req_duration{endpoint:upload} p(95)<300, http_req_failed rate<0.001"
    )
    expect(stdout).not.toContain("every threshold")
    const marks = stdout.split("\n").filter((line) => /^\s+(ok|FAILED)\s{2,}\S/.test(line))
    expect(marks).toHaveLength(6)
    expect(marks.filter((line) => line.trim().startsWith("FAILED"))).toHaveLength(3)
    expect(stdout).toMatch(/FAILED\s+http_req_duration\{endpoint:upload\} p\(95\)<300 \(observed 517 ms\)/)
    expect(stdout).toMatch(/ok\s+checks rate>0\.999 \(observed 99\.95 %\)/)
  })

  it("a run that held says how many thresholds held", () => {
    const run = failedRun()
    const metrics: Record<string, Metric> = {}
    for (const [name, metric] of Object.entries(run.metrics)) {
      const thresholds = metric.thresholds
        ? Object.fromEntries(Object.keys(metric.thresholds).map((source) => [source, { ok: true }]))
        : undefined
      metrics[name] = thresholds ? { ...metric, thresholds } : metric
    }
    const result = verdictModule.verdict(verdictModule.thresholdResults(metrics))
    expect(result).toEqual({ passed: true, headline: "PASSED: all 6 thresholds held", failed: [] })
    expect(summary.summarize({ ...run, metrics }, meta).stdout).toContain("PASSED: all 6 thresholds held")
  })

  it("the HTML report draws latency over time from the per-bucket Trends, and lists them nowhere else", () => {
    const out = summary.summarize(failedRun(), meta)
    const html = Object.entries(out).find(([file]) => file.endsWith(".html"))![1]
    expect(html).toContain("Over time")
    const chart = /<svg[^>]*aria-label="latency over time per endpoint"[\s\S]*?<\/svg>/.exec(html)?.[0]
    expect(chart).toBeDefined()
    // upload: three consecutive buckets, one line; put: buckets 0 and 2, a gap, so two pieces.
    const p95Lines = [
      ...chart!.matchAll(/<polyline points="([^"]+)" fill="none" stroke="([^"]+)" stroke-width="2"\/>/g)
    ]
    expect(p95Lines.map((m) => m[1]!.split(" ").length)).toEqual([3, 1, 1])
    expect(chart).toContain("upload 2–4 s: p95 350 ms, p50 175 ms, 100 requests")
    expect(chart).toContain("upload p95 (budget 300 ms)")
    expect(html).toContain("FAILED: 3 of 6 thresholds crossed")
    expect(html).not.toMatch(/<td>timeline_upload_000<\/td>/)
  })

  it("buckets: about 60 over the run, at least a second each, later samples in the last one", () => {
    expect(timeline.bucketPlan(60)).toEqual({ bucketSeconds: 1, buckets: 60 })
    expect(timeline.bucketPlan(600 + 45)).toEqual({ bucketSeconds: 11, buckets: 59 })
    expect(timeline.bucketPlan(86_400)).toMatchObject({ buckets: 60 })
    const plan = timeline.bucketPlan(10)
    expect(timeline.bucketOf(plan, -5)).toBe(0)
    expect(timeline.bucketOf(plan, 3_500)).toBe(3)
    expect(timeline.bucketOf(plan, 60_000)).toBe(9)
    expect(timeline.timelineMetricName("get_image", 7)).toBe("timeline_get_image_007")
    const series = timeline.timelineSeries({ timeline_get_image_007: trend(10), timeline_get_image_001: trend(20) }, 5)
    expect(series).toEqual([
      {
        endpoint: "get_image",
        points: [{ t: 5, p50: 10, p95: 20, count: 100 }, { t: 35, p50: 5, p95: 10, count: 100 }]
      }
    ])
    expect(timeline.timelineSvg([], {}, 1)).toBe("")
  })
})
