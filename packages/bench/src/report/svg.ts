/** docs/benchmarks.svg: bar charts of the resize, API and pipeline sections. */
import { METHODS, mixesOf } from "../resize/methods.js"
import { fmt } from "../util.js"
import { isError, resizeAggregates, type Results } from "./results.js"

const esc = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

interface Bar {
  readonly label: string
  readonly value: number
  readonly text: string
  readonly colour: string
}

const panel = (title: string, bars: ReadonlyArray<Bar>, y0: number, width: number): { svg: string; height: number } => {
  const labelWidth = 300
  // Room on the right for the value printed after the longest bar.
  const barArea = width - labelWidth - 330
  const max = Math.max(1, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)))
  const parts = [`<text x="0" y="${y0 + 16}" font-size="15" font-weight="bold">${esc(title)}</text>`]
  bars.forEach((bar, i) => {
    const y = y0 + 30 + i * 26
    const w = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * barArea) : 0
    parts.push(`<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${esc(bar.label)}</text>`)
    parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${bar.colour}"/>`)
    parts.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 14}" font-size="12">${esc(bar.text)}</text>`)
  })
  return { svg: parts.join("\n"), height: 40 + bars.length * 26 }
}

export const svgChart = (results: Results): string => {
  const width = 1000
  const panels: Array<{ svg: string; height: number }> = []
  let y = 10
  if (results.resize !== undefined && !isError(results.resize)) {
    const resize = results.resize
    for (const mix of mixesOf(resize)) {
      const agg = resizeAggregates(resize, mix)
      const bars = METHODS.filter((m) => agg[m.id] !== undefined).map((m): Bar => ({
        label: m.label,
        value: agg[m.id]?.cpuMs ?? Number.NaN,
        text: `${fmt(agg[m.id]?.cpuMs ?? Number.NaN, 0)} ms`,
        colour: m.id === "imgpipe"
          ? "#1f6feb"
          : m.proposal
          ? "#8957e5"
          : m.id.startsWith("imagemagick")
          ? "#bc4c00"
          : "#57606a"
      }))
      const title = `Resize: CPU ms per image, three sizes (${mix.name} mix, one core; lower is better)`
      const p = panel(title, bars, y, width)
      panels.push(p)
      y += p.height + 20
    }
  }
  if (results.api !== undefined && !isError(results.api)) {
    const api = results.api
    const bars = api.results.map((r): Bar => ({
      label: `${r.endpoint === "upload" ? "POST /upload" : "GET /get_image"} — ${
        r.target === "imgpipe" ? "imgpipe API" : "bare node:http"
      }`,
      value: r.perCpuSecond ?? r.result.requestsPerSecond,
      text: `${fmt(r.perCpuSecond ?? r.result.requestsPerSecond, 0)}/CPU-s · ${
        fmt(r.result.requestsPerSecond, 0)
      } req/s · p99 ${r.result.p99Ms} ms`,
      colour: r.target === "imgpipe" ? "#1f6feb" : "#57606a"
    }))
    const p = panel("API: requests per CPU-second of one core (higher is better)", bars, y, width)
    panels.push(p)
    y += p.height + 20
  }
  if (results.pipeline !== undefined && !isError(results.pipeline)) {
    const s = results.pipeline.steady
    const bars: Array<Bar> = [
      { label: "p50", value: s.p50Ms, text: `${fmt(s.p50Ms, 0)} ms`, colour: "#1f6feb" },
      { label: "p95", value: s.p95Ms, text: `${fmt(s.p95Ms, 0)} ms`, colour: "#1f6feb" },
      { label: "max", value: s.maxMs, text: `${fmt(s.maxMs, 0)} ms`, colour: "#57606a" }
    ]
    const p = panel(`Embedded pipeline: upload complete → all sizes ready at ${s.offeredPerSecond}/s`, bars, y, width)
    panels.push(p)
    y += p.height + 20
  }
  const m = results.machine
  const footer = `${m.cpu}, ${m.cores} cores · Node ${m.node} · sharp ${m.sharp} / libvips ${m.vips} · ${m.date}`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" viewBox="0 0 ${width} ${
    y + 20
  }" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
${panels.map((p) => p.svg).join("\n")}
<text x="0" y="${y + 8}" font-size="11" fill="#57606a">${esc(footer)}</text>
</svg>
`
}
