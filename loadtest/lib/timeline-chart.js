/*
 * Latency over time. handleSummary only receives aggregates, so timeline.js records every request's
 * duration a second time into one Trend per endpoint and time bucket (`timeline_<endpoint>_<nnn>`,
 * bucket nnn = seconds since the scenario started / bucket length); this file turns those Trends
 * back into series and draws them as an inline SVG line chart (p95 solid, p50 dashed, the p95
 * budget as a dashed level). Pure functions (no k6 module), tested in
 * packages/bench/test/loadtest-report.test.ts.
 */

const PREFIX = "timeline_"
const NAME = /^timeline_([a-z_]+)_(\d{3})$/
const COLOURS = { upload: "#3a78b5", put: "#8e44ad", get_image: "#1a7f37" }

/** At most this many buckets per endpoint (each is a Trend k6 keeps in memory and summarises). */
export const MAX_BUCKETS = 120

export function timelineMetricName(endpoint, index) {
  return PREFIX + endpoint + "_" + String(index).padStart(3, "0")
}

export function isTimelineMetric(name) {
  return NAME.test(name)
}

/**
 * Bucket length for a run of `totalSeconds` (scenario plus its graceful stop): about 60 points over
 * the run, never shorter than a second, and at most MAX_BUCKETS buckets; later samples land in the
 * last bucket.
 */
export function bucketPlan(totalSeconds) {
  const total = Math.max(1, Math.ceil(totalSeconds))
  const bucketSeconds = Math.max(1, Math.ceil(total / 60))
  return { bucketSeconds, buckets: Math.min(MAX_BUCKETS, Math.ceil(total / bucketSeconds)) }
}

/** Which bucket a sample taken `elapsedMs` after the scenario start goes to. */
export function bucketOf(plan, elapsedMs) {
  return Math.min(plan.buckets - 1, Math.max(0, Math.floor(elapsedMs / 1000 / plan.bucketSeconds)))
}

/**
 * `[{ endpoint, points: [{ t, p50, p95, count }] }]` from the summary's metrics, endpoints in
 * first-seen order of `order` (then the others), points by time, empty buckets left out. `t` is
 * the bucket's start in seconds.
 */
export function timelineSeries(metrics, bucketSeconds, order) {
  const byEndpoint = {}
  for (const name of Object.keys(metrics)) {
    const match = NAME.exec(name)
    if (match === null) continue
    const values = metrics[name].values
    if (!(values.count > 0)) continue
    const points = byEndpoint[match[1]] || (byEndpoint[match[1]] = [])
    points.push({ t: Number(match[2]) * bucketSeconds, p50: values.med, p95: values["p(95)"], count: values.count })
  }
  const known = (order || []).filter((e) => byEndpoint[e] !== undefined)
  const rest = Object.keys(byEndpoint).filter((e) => known.indexOf(e) < 0).sort()
  return known.concat(rest).map((endpoint) => ({ endpoint, points: byEndpoint[endpoint].sort((a, b) => a.t - b.t) }))
}

/** A round step giving about `count` ticks up to `max`. */
function niceStep(max, count) {
  const raw = max / count
  const power = Math.pow(10, Math.floor(Math.log10(raw)))
  const unit = [1, 2, 5, 10].find((m) => m * power >= raw)
  return unit * power
}

function escapeXml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s` : `${Math.round(ms)} ms`
}

/** Consecutive buckets joined; a gap (a bucket with no sample) breaks the line. */
function segments(points, bucketSeconds) {
  const out = []
  let current = []
  for (const p of points) {
    if (current.length > 0 && p.t - current[current.length - 1].t > bucketSeconds) {
      out.push(current)
      current = []
    }
    current.push(p)
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * The chart: x = seconds since the scenario started, y = milliseconds; per endpoint its p95 (solid,
 * with a dot per bucket), p50 (dashed) and p95 budget (`budgets[endpoint]`, dotted level). '' when
 * there is nothing to draw.
 */
export function timelineSvg(series, budgets, bucketSeconds) {
  const drawn = series.filter((s) => s.points.length > 0)
  if (drawn.length === 0) return ""
  const left = 64
  const right = 16
  const top = 34
  const bottom = 36
  const width = 900
  const height = 300
  const plotW = width - left - right
  const plotH = height - top - bottom
  let maxT = bucketSeconds
  let maxY = 1
  for (const s of drawn) {
    for (const p of s.points) {
      maxT = Math.max(maxT, p.t + bucketSeconds)
      maxY = Math.max(maxY, p.p95 || 0)
    }
    const budget = budgets && budgets[s.endpoint]
    if (budget !== undefined) maxY = Math.max(maxY, budget)
  }
  const yStep = niceStep(maxY * 1.1, 5)
  const yMax = Math.ceil((maxY * 1.1) / yStep) * yStep
  const tStep = niceStep(maxT, 8)
  // Each point sits in the middle of its bucket.
  const x = (t) => left + ((t + bucketSeconds / 2) / maxT) * plotW
  const y = (ms) => top + plotH - (Math.max(0, ms) / yMax) * plotH
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" ` +
    `aria-label="latency over time per endpoint" font-family="system-ui,sans-serif">`
  ]
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e8eb"/>`
    )
    parts.push(
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#57606a">${
        fmtMs(v)
      }</text>`
    )
  }
  for (let t = 0; t <= maxT + 1e-9; t += tStep) {
    const tx = left + (t / maxT) * plotW
    parts.push(
      `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#57606a"/>`
    )
    parts.push(
      `<text x="${tx.toFixed(1)}" y="${
        top + plotH + 16
      }" font-size="11" text-anchor="middle" fill="#57606a">${t} s</text>`
    )
  }
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#57606a"/>`)
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 4}" font-size="11" text-anchor="middle" fill="#57606a">` +
      `time since the scenario started (${bucketSeconds} s buckets)</text>`
  )
  drawn.forEach((s, i) => {
    const colour = COLOURS[s.endpoint] || "#57606a"
    const budget = budgets && budgets[s.endpoint]
    if (budget !== undefined) {
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(budget).toFixed(1)}" y2="${y(budget).toFixed(1)}" ` +
          `stroke="${colour}" stroke-width="1" stroke-dasharray="2 3" opacity="0.8"/>`
      )
    }
    for (const seg of segments(s.points, bucketSeconds)) {
      const line = (key) => seg.map((p) => `${x(p.t).toFixed(1)},${y(p[key] || 0).toFixed(1)}`).join(" ")
      parts.push(
        `<polyline points="${line("p50")}" fill="none" stroke="${colour}" stroke-width="1" stroke-dasharray="5 3"/>`
      )
      parts.push(`<polyline points="${line("p95")}" fill="none" stroke="${colour}" stroke-width="2"/>`)
      for (const p of seg) {
        parts.push(
          `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.p95 || 0).toFixed(1)}" r="2" fill="${colour}">` +
            `<title>${escapeXml(s.endpoint)} ${p.t}–${p.t + bucketSeconds} s: p95 ${fmtMs(p.p95 || 0)}, p50 ${
              fmtMs(p.p50 || 0)
            }, ${p.count} requests</title></circle>`
        )
      }
    }
    const lx = left + i * 240
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="14" y2="14" stroke="${colour}" stroke-width="2"/>`)
    parts.push(
      `<text x="${lx + 27}" y="18" font-size="12">${escapeXml(s.endpoint)} p95` +
        `${budget !== undefined ? ` (budget ${fmtMs(budget)})` : ""}</text>`
    )
  })
  parts.push(
    `<text x="${
      width - right
    }" y="30" font-size="10" text-anchor="end" fill="#57606a">solid p95 · dashed p50 · dotted budget</text>`
  )
  parts.push("</svg>")
  return parts.join("")
}
