/** The one summary table: printed to stdout, and the Summary section of docs/benchmarks.md. */
import { costSummary } from "../cost/report.js"
import { formatsSummary } from "../formats/report.js"
import { memorySummary } from "../memory.js"
import { resizeSummaryRows } from "../resize/report.js"
import { sseSummary } from "../sse.js"
import { fmt, fmtBytes } from "../util.js"
import { webhooksSummary } from "../webhooks.js"
import { apiResult, isError, type Results, targetsOf } from "./results.js"

export interface Row {
  readonly section: string
  readonly what: string
  readonly result: string
  readonly versus: string
  readonly ratio: string
  readonly target: string
}

const perCpu = (n: number | undefined): string => (n === undefined ? "" : ` · ${fmt(n, 0)}/CPU-s`)

const tick = (met: boolean): string => (met ? "met" : "MISSED")

export const rows = (results: Results): Array<Row> => {
  const out: Array<Row> = []
  const targets = targetsOf(results)
  if (results.resize === undefined) {
    // not run
  } else if (isError(results.resize)) {
    out.push({
      section: "resize",
      what: "failed",
      result: results.resize.error.slice(0, 80),
      versus: "",
      ratio: "",
      target: ""
    })
  } else {
    out.push(...resizeSummaryRows(results.resize))
  }

  if (results.pipeline === undefined) {
    // not run
  } else if (isError(results.pipeline)) {
    out.push({
      section: "pipeline",
      what: "failed",
      result: results.pipeline.error.slice(0, 80),
      versus: "",
      ratio: "",
      target: ""
    })
  } else {
    const p = results.pipeline
    out.push({
      section: "pipeline",
      what: `capacity (burst of ${p.burst.images})`,
      result: `${fmt(p.burst.perSecond, 2)} images/s fully processed` +
        (p.burst.cpuSecondsPerImage === undefined
          ? ""
          : ` · ${fmt(p.burst.cpuSecondsPerImage, 2)} CPU-s/image (≈ ${
            fmt(p.cores / p.burst.cpuSecondsPerImage, 1)
          }/s on ${p.cores} idle cores)`),
      versus: "",
      ratio: "",
      target: ""
    })
    out.push({
      section: "pipeline",
      what: `upload complete → ready at ${p.steady.offeredPerSecond}/s`,
      result: `p50 ${fmt(p.steady.p50Ms, 0)} ms · p95 ${fmt(p.steady.p95Ms, 0)} ms · ${
        fmt(p.steady.readyPerSecond, 2)
      } ready/s`,
      versus: "",
      ratio: "",
      target: ""
    })
  }

  if (results.api === undefined) {
    // not run
  } else if (isError(results.api)) {
    out.push({
      section: "api",
      what: "failed",
      result: results.api.error.slice(0, 80),
      versus: "",
      ratio: "",
      target: ""
    })
  } else {
    for (const endpoint of ["upload", "get_image"] as const) {
      const ours = apiResult(results.api, "imgpipe", endpoint)
      const bare = apiResult(results.api, "bare", endpoint)
      const path = endpoint === "upload" ? "POST /upload" : "GET /get_image"
      if (ours !== undefined) {
        const share = bare === undefined
          ? Number.NaN
          : ours.perCpuSecond !== undefined && bare.perCpuSecond !== undefined
          ? ours.perCpuSecond / bare.perCpuSecond
          : ours.result.requestsPerSecond / bare.result.requestsPerSecond
        out.push({
          section: "api (1 core)",
          what: `${path}, imgpipe`,
          result: `${fmt(ours.result.requestsPerSecond, 0)} req/s · p99 ${ours.result.p99Ms} ms${
            perCpu(ours.perCpuSecond)
          }`,
          versus: "this ÷ bare (per CPU-s)",
          ratio: `${fmt(share * 100, 0)} %`,
          target: endpoint === "upload" && targets.upload !== undefined ? `≥ 50 %: ${tick(targets.upload.met)}` : ""
        })
      }
      if (bare !== undefined) {
        out.push({
          section: "api (1 core)",
          what: `${path}, bare node:http`,
          result: `${fmt(bare.result.requestsPerSecond, 0)} req/s · p99 ${bare.result.p99Ms} ms${
            perCpu(bare.perCpuSecond)
          }`,
          versus: "",
          ratio: "",
          target: ""
        })
      }
    }
  }

  if (results.lambda === undefined) {
    // not run
  } else if (isError(results.lambda)) {
    out.push({
      section: "lambda",
      what: "failed",
      result: results.lambda.error.slice(0, 80),
      versus: "",
      ratio: "",
      target: ""
    })
  } else {
    for (const h of results.lambda.handlers) {
      out.push({
        section: "lambda",
        what: h.name,
        result: h.missing
          ? `${h.entry} missing`
          : h.error !== undefined
          ? `error: ${h.error.slice(0, 60)}`
          : `${fmtBytes(h.bytes ?? Number.NaN)} (${fmtBytes(h.gzipBytes ?? Number.NaN)} gzip) · import ${
            fmt(h.importMs ?? Number.NaN, 0)
          } ms (${fmt(h.importCpuMs ?? Number.NaN, 0)} CPU)`,
        versus: h.missing || h.error !== undefined ? "" : "node start",
        ratio: h.missing || h.error !== undefined ? "" : `${fmt(results.lambda.nodeStartMs, 0)} ms`,
        target: ""
      })
    }
  }

  if (results.memory !== undefined) {
    const summary = isError(results.memory)
      ? [{ what: "failed", result: results.memory.error.slice(0, 80) }]
      : memorySummary(results.memory)
    for (const r of summary) {
      out.push({ section: "memory", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
    }
  }

  if (results.webhooks !== undefined) {
    const summary = isError(results.webhooks)
      ? [{ what: "failed", result: results.webhooks.error.slice(0, 80) }]
      : webhooksSummary(results.webhooks)
    for (const r of summary) {
      out.push({ section: "webhooks", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
    }
  }

  if (results.sse !== undefined) {
    const summary = isError(results.sse)
      ? [{ what: "failed", result: results.sse.error.slice(0, 80) }]
      : sseSummary(results.sse)
    for (const r of summary) {
      out.push({ section: "sse", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
    }
  }

  if (results.formats !== undefined) {
    const summary = isError(results.formats)
      ? [{ what: "failed", result: results.formats.error.slice(0, 80) }]
      : formatsSummary(results.formats)
    for (const r of summary) {
      out.push({ section: "formats", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
    }
  }

  if (results.cost !== undefined) {
    const summary = isError(results.cost)
      ? [{ what: "failed", result: results.cost.error.slice(0, 80) }]
      : costSummary(results.cost)
    for (const r of summary) {
      out.push({ section: "cost per 1M images", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
    }
  }
  return out
}

const HEAD: Row = {
  section: "section",
  what: "measurement",
  result: "result",
  versus: "compared",
  ratio: "ratio",
  target: "target"
}
export const KEYS = ["section", "what", "result", "versus", "ratio", "target"] as const

export const stdoutTable = (results: Results): string => {
  const all = [HEAD, ...rows(results)]
  const widths = KEYS.map((k) => Math.max(...all.map((r) => r[k].length)))
  const line = (r: Row) => KEYS.map((k, i) => r[k].padEnd(widths[i] ?? 0)).join(" │ ").trimEnd()
  const rule = widths.map((w) => "─".repeat(w)).join("─┼─")
  return [line(HEAD), rule, ...rows(results).map(line)].join("\n")
}
