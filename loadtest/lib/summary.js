/*
 * handleSummary: a JSON file (k6's own summary data plus what this run was: scenario, mix,
 * budgets), a self-contained HTML report (inline CSS and SVG, no script, no remote asset) and a
 * short text summary on stdout (k6 prints its default one only when there is no handleSummary, and
 * the jslib that formats it is a remote import). Files go to RESULTS_DIR (default
 * loadtest/results, relative to where k6 runs; the folder must exist, which it does in a checkout).
 */
import { BASE_URL, envString, SCENARIO } from "./config.js"
import { describeMix, MIX_NAME } from "./images.js"
import { isTimelineMetric, timelineSeries, timelineSvg } from "./timeline-chart.js"
import { thresholdLines, thresholdResults, verdict } from "./verdict.js"

const RESULTS_DIR = envString("RESULTS_DIR", "loadtest/results").replace(/\/+$/, "")

/** Metrics the reports show first, in this order, with what they mean. */
const HEADLINE = [
  ["http_req_duration{endpoint:upload}", "POST /upload (ticket)"],
  ["http_req_duration{endpoint:put}", "PUT to storage"],
  ["http_req_duration{endpoint:get_image}", "GET /get_image"],
  ["time_to_ready", "upload complete → size served (sample)"]
]

function fmtMs(value) {
  if (value === undefined || value === null || !isFinite(value)) return "–"
  if (value >= 10000) return `${(value / 1000).toFixed(1)} s`
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`
  return `${value.toFixed(value >= 100 ? 0 : 1)} ms`
}

function fmtNumber(value, digits) {
  if (value === undefined || value === null || !isFinite(value)) return "–"
  return value.toFixed(digits === undefined ? 0 : digits)
}

function fmtPercent(value) {
  if (value === undefined || value === null || !isFinite(value)) return "–"
  return `${(value * 100).toFixed(value < 0.01 ? 3 : 2)} %`
}

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
}

function thresholdRows(data) {
  return thresholdResults(data.metrics, observed)
}

/** The value a threshold expression looked at, e.g. `p(95)<300` → the metric's p(95). */
function observed(metric, source) {
  const match = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*[<>=!]/.exec(source)
  if (match === null) return "–"
  const stat = match[1]
  const value = metric.values[stat]
  if (value === undefined) return "–"
  // A metric nothing was recorded in (k6 then passes its thresholds): say so rather than "0".
  if (metric.type === "rate" && metric.values.passes + metric.values.fails === 0) return "no samples"
  if (metric.type === "trend" && metric.values.count === 0) return "no samples"
  if (metric.type === "rate") return fmtPercent(value)
  if (metric.type === "trend" && metric.contains === "time") return fmtMs(value)
  return fmtNumber(value, stat === "rate" ? 2 : 0)
}

function trendRow(data, key, label) {
  const metric = data.metrics[key]
  if (metric === undefined) return null
  const v = metric.values
  return {
    key,
    label,
    count: v.count,
    avg: v.avg,
    med: v.med,
    p90: v["p(90)"],
    p95: v["p(95)"],
    p99: v["p(99)"],
    max: v.max
  }
}

function headline(data) {
  const rows = []
  for (const [key, label] of HEADLINE) {
    const row = trendRow(data, key, label)
    if (row !== null) rows.push(row)
  }
  return rows
}

function counter(data, name) {
  const metric = data.metrics[name]
  return metric === undefined ? 0 : metric.values.count
}

function rate(data, name) {
  const metric = data.metrics[name]
  return metric === undefined ? undefined : metric.values.rate
}

function allChecks(group, out) {
  for (const c of group.checks) out.push(c)
  for (const g of group.groups) allChecks(g, out)
  return out
}

function textSummary(data, meta, files) {
  const lines = []
  const rows = thresholdRows(data)
  const result = verdict(rows)
  lines.push("")
  lines.push(`imgpipe load test: ${meta.script}, scenario ${meta.scenario} against ${meta.base_url}`)
  lines.push(
    `  offered ${meta.expected_iterations} iterations (peak ${meta.peak_rate}/s), ` +
      `${counter(data, "iterations")} run, ${counter(data, "dropped_iterations")} dropped, ` +
      `${counter(data, "http_reqs")} requests, ${fmtPercent(rate(data, "http_req_failed"))} failed`
  )
  lines.push("")
  lines.push("  latency                                     count      p50      p95      p99      max")
  for (const row of headline(data)) {
    if (!(row.count > 0)) continue
    lines.push(
      `  ${row.label.padEnd(40)} ${fmtNumber(row.count).padStart(8)} ${fmtMs(row.med).padStart(8)} ` +
        `${fmtMs(row.p95).padStart(8)} ${fmtMs(row.p99).padStart(8)} ${fmtMs(row.max).padStart(8)}`
    )
  }
  if (meta.setup !== undefined) {
    lines.push(
      `  setup: ${meta.setup.images} images uploaded, ${meta.setup.ready_before_run} with every size ready before the run`
    )
  }
  if (meta.ready_sample !== undefined) {
    lines.push(
      `  time-to-ready sample: ${counter(data, "ready_samples")} waited, ` +
        `${fmtPercent(rate(data, "ready_within_wait"))} served within ${meta.ready_sample.wait_s} s`
    )
    const refusals = data.metrics.refused_as_expected
    if (refusals !== undefined) {
      lines.push(
        `  expected refusals sampled (e.g. HEIC declared as JPEG): ` +
          `${fmtPercent(rate(data, "refused_as_expected"))} refused with the expected code`
      )
    }
  }
  lines.push("")
  lines.push("  thresholds")
  for (const line of thresholdLines(rows)) lines.push(line)
  const failedChecks = allChecks(data.root_group, []).filter((c) => c.fails > 0)
  for (const c of failedChecks) lines.push(`  check "${c.name}": ${c.fails} failed of ${c.passes + c.fails}`)
  lines.push("")
  lines.push(`  ${result.headline}`)
  lines.push(`  report: ${files.html}`)
  lines.push(`  data:   ${files.json}`)
  lines.push("")
  return lines.join("\n")
}

/** Horizontal bars of p50 / p95 / p99 per endpoint, with each endpoint's p95 budget as a mark. */
function latencyChart(rows, budgets) {
  const charted = rows.filter((row) => row.key.indexOf("endpoint:") >= 0)
  if (charted.length === 0) return ""
  let scale = 1
  for (const row of charted) {
    const budget = budgets[row.key.replace(/^.*endpoint:([a-z_]+)}$/, "$1")]
    scale = Math.max(scale, row.p99 || 0, budget || 0)
  }
  // Room after the longest bar for its label.
  scale *= 1.25
  const left = 190
  const width = 560
  const rowHeight = 58
  const height = charted.length * rowHeight + 20
  const x = (value) => left + (Math.max(0, value) / scale) * width
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" ` +
    `role="img" aria-label="latency per endpoint">`
  ]
  charted.forEach((row, i) => {
    const y = 10 + i * rowHeight
    const endpoint = row.key.replace(/^.*endpoint:([a-z_]+)}$/, "$1")
    const budget = budgets[endpoint]
    parts.push(`<text x="0" y="${y + 26}" font-size="13">${escapeHtml(row.label)}</text>`)
    const bars = [["p50", row.med, "#8fb8de"], ["p95", row.p95, "#3a78b5"], ["p99", row.p99, "#1d3f63"]]
    bars.forEach(([label, value, colour], j) => {
      const barY = y + j * 14
      parts.push(
        `<rect x="${left}" y="${barY}" width="${
          Math.max(1, x(value || 0) - left).toFixed(1)
        }" height="12" fill="${colour}"/>`
      )
      parts.push(
        `<text x="${(x(value || 0) + 4).toFixed(1)}" y="${barY + 10}" font-size="10">${label} ${
          escapeHtml(fmtMs(value))
        }</text>`
      )
    })
    if (budget !== undefined) {
      parts.push(
        `<line x1="${x(budget).toFixed(1)}" x2="${x(budget).toFixed(1)}" y1="${y - 3}" y2="${y + 43}" ` +
          `stroke="#c0392b" stroke-width="2" stroke-dasharray="4 2"/>`
      )
      // Near the right edge the label goes to the left of its line, so it stays inside the picture.
      const anchor = x(budget) > left + width * 0.7 ? "end" : "start"
      const labelX = anchor === "end" ? x(budget) - 3 : x(budget) + 3
      parts.push(
        `<text x="${labelX.toFixed(1)}" y="${
          y + 52
        }" font-size="10" fill="#c0392b" text-anchor="${anchor}">p95 budget ${budget} ms</text>`
      )
    }
  })
  parts.push("</svg>")
  return parts.join("")
}

function htmlReport(data, meta) {
  const rows = headline(data)
  const thresholds = thresholdRows(data)
  const result = verdict(thresholds)
  const checks = allChecks(data.root_group, [])
  // The timeline's per-bucket Trends are drawn in the chart, not listed one by one.
  const metricNames = Object.keys(data.metrics).filter((name) => !isTimelineMetric(name)).sort()
  const timeline = meta.timeline === undefined ?
    ""
    : timelineSvg(
      timelineSeries(data.metrics, meta.timeline.bucket_s, Object.keys(meta.budgets_ms)),
      meta.budgets_ms,
      meta.timeline.bucket_s
    )
  const cell = (value) => `<td>${escapeHtml(value)}</td>`
  const table = (head, body) =>
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
      body.join("")
    }</tbody></table>`

  const summaryValues = (metric) => {
    const v = metric.values
    if (metric.type === "trend") {
      const f = metric.contains === "time" ? fmtMs : (n) => fmtNumber(n, 1)
      return `avg ${f(v.avg)} · p50 ${f(v.med)} · p90 ${f(v["p(90)"])} · p95 ${f(v["p(95)"])} · p99 ${
        f(v["p(99)"])
      } · max ${f(v.max)} · n ${fmtNumber(v.count)}`
    }
    if (metric.type === "rate") {
      return `${fmtPercent(v.rate)} (${fmtNumber(v.passes)} true, ${fmtNumber(v.fails)} false)`
    }
    if (metric.type === "counter") return `${fmtNumber(v.count)} (${fmtNumber(v.rate, 2)}/s)`
    return `${fmtNumber(v.value, 2)} (min ${fmtNumber(v.min, 2)}, max ${fmtNumber(v.max, 2)})`
  }

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>imgpipe load test: ${escapeHtml(meta.script)} ${escapeHtml(meta.scenario)} ${
    escapeHtml(meta.finished_at)
  }</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#1a7f37}.fail{background:#cf222e}.muted{color:#57606a}code{background:#f6f8fa;padding:0 .2rem}
</style></head><body>
<h1>imgpipe load test — ${escapeHtml(meta.script)}, scenario <code>${escapeHtml(meta.scenario)}</code></h1>
<p class="muted">${escapeHtml(meta.base_url)} · finished ${escapeHtml(meta.finished_at)} · ran ${
    fmtNumber(data.state.testRunDurationMs / 1000, 1)
  } s</p>
<p><span class="verdict ${result.passed ? "ok" : "fail"}">${
    escapeHtml(
      result.passed ? result.headline : `FAILED: ${result.failed.length} of ${thresholds.length} thresholds crossed`
    )
  }</span></p>
${
    result.passed
      ? ""
      : `<ul>${
        result.failed.map((row) =>
          `<li><code>${escapeHtml(row.metric)}</code> <code>${escapeHtml(row.source)}</code>: observed ${
            escapeHtml(row.value)
          }</li>`
        ).join("")
      }</ul>`
  }

<h2>Load offered and carried</h2>
${
    table(
      ["offered iterations", "peak rate", "iterations run", "dropped", "requests", "failed requests", "data sent"],
      [
        `<tr><td class="num">${meta.expected_iterations}</td><td class="num">${meta.peak_rate}/s</td>` +
        `<td class="num">${fmtNumber(counter(data, "iterations"))}</td><td class="num">${
          fmtNumber(counter(data, "dropped_iterations"))
        }</td>` +
        `<td class="num">${fmtNumber(counter(data, "http_reqs"))}</td><td class="num">${
          fmtPercent(rate(data, "http_req_failed"))
        }</td>` +
        `<td class="num">${fmtNumber(counter(data, "data_sent") / 1e6, 1)} MB</td></tr>`
      ]
    )
  }

<h2>Latency</h2>
${latencyChart(rows, meta.budgets_ms)}
${
    timeline === "" ? "" : `<h3>Over time</h3>
<p class="muted">p95 and p50 of each endpoint per ${meta.timeline.bucket_s} s of the run (hover a dot for its numbers):
a rising line is a backlog or a saturated resource building up; a spike is a stall.</p>
${timeline}`
  }
${
    table(
      ["what", "count", "avg", "p50", "p90", "p95", "p99", "max"],
      rows.map((row) =>
        `<tr>${cell(row.label)}<td class="num">${fmtNumber(row.count)}</td><td class="num">${fmtMs(row.avg)}</td>` +
        `<td class="num">${fmtMs(row.med)}</td><td class="num">${fmtMs(row.p90)}</td><td class="num">${
          fmtMs(row.p95)
        }</td>` +
        `<td class="num">${fmtMs(row.p99)}</td><td class="num">${fmtMs(row.max)}</td></tr>`
      )
    )
  }
${
    meta.ready_sample === undefined ?
      "" :
      `<p class="muted">Time to ready: every ${meta.ready_sample.every}th upload polls get_image for its
size (${escapeHtml(meta.ready_sample.sizes.join(", "))} in turn) for at most ${meta.ready_sample.wait_s} s;
${fmtNumber(counter(data, "ready_samples"))} sampled, ${
        fmtPercent(rate(data, "ready_within_wait"))
      } served within the wait.
Only those count in the trend: a pipeline that lags shows as a low share here, not as a long tail.</p>`
  }

<h2>Thresholds</h2>
${
    table(
      ["", "metric", "threshold", "observed"],
      thresholds.map((row) =>
        `<tr><td>${row.ok ? "ok" : "<strong style=\"color:#cf222e\">FAILED</strong>"}</td>${cell(row.metric)}${
          cell(row.source)
        }${cell(row.value)}</tr>`
      )
    )
  }

<h2>Checks</h2>
${
    table(
      ["check", "passes", "fails"],
      checks.map((c) => `<tr>${cell(c.name)}<td class="num">${c.passes}</td><td class="num">${c.fails}</td></tr>`)
    )
  }

<h2>Image mix</h2>
${
    table(
      ["file", "type", "bytes", "share"],
      meta.mix.map((m) =>
        `<tr>${cell(m.name)}${
          cell(m.refused ? `${m.content_type} (refused: ${m.refused})` : m.content_type)
        }<td class="num">${m.bytes}</td><td class="num">${m.share} %</td></tr>`
      )
    )
  }

<h2>Every metric</h2>
${
    table(
      ["metric", "type", "values"],
      metricNames.map((name) =>
        `<tr>${cell(name)}${cell(data.metrics[name].type)}${cell(summaryValues(data.metrics[name]))}</tr>`
      )
    )
  }

<h2>Run settings</h2>
<pre>${escapeHtml(JSON.stringify(meta, null, 2))}</pre>
</body></html>
`
}

/** What every script's run was: the settings both upload.js and get_image.js report. */
export function runSettings(script, rate, plan) {
  return {
    script: script,
    scenario: SCENARIO,
    base_url: BASE_URL,
    rate: rate,
    expected_iterations: plan.expectedIterations,
    peak_rate: plan.peakRate,
    duration_s: plan.durationSeconds,
    vus: { pre_allocated: plan.scenario.preAllocatedVUs, max: plan.scenario.maxVUs },
    images: MIX_NAME,
    mix: describeMix()
  }
}

/** Builds handleSummary's answer: stdout text plus the two files. */
export function summarize(data, meta) {
  const finished = new Date().toISOString()
  const stamp = finished.replace(/[:.]/g, "-")
  const base = `${RESULTS_DIR}/${meta.script.replace(/\.js$/, "")}-${meta.scenario}-${stamp}`
  const files = { json: `${base}.json`, html: `${base}.html` }
  const fullMeta = Object.assign({ finished_at: finished }, meta)
  const out = { stdout: textSummary(data, fullMeta, files) }
  out[files.json] = JSON.stringify(Object.assign({ imgpipe: fullMeta }, data), null, 2)
  out[files.html] = htmlReport(data, fullMeta)
  return out
}
