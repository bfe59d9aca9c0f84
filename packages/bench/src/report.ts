/**
 * Turns the sections' results into the one stdout table, docs/benchmarks.md and docs/benchmarks.svg.
 * Everything in the document is computed from this run; nothing is typed in by hand.
 */
import type { ApiSection, Endpoint, Target } from "./api.js"
import type { LambdaSection } from "./lambda.js"
import { type MemorySection, memoryMarkdown, memorySummary } from "./memory.js"
import type { PipelineSection } from "./pipeline.js"
import { aggregate, METHODS, type MethodAggregate, type MethodId, type PhotoResult, type ResizeSection } from "./resize.js"


import { fmt, fmtBytes } from "./util.js"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly sharp: string
  readonly vips: string
  readonly imagemagick: string
  readonly loadBefore: string
  readonly loadAfter: string
  readonly date: string
}

export interface Results {
  readonly machine: Machine
  readonly seconds: number
  readonly resize: ResizeSection | { readonly error: string } | undefined
  readonly pipeline: PipelineSection | { readonly error: string } | undefined
  readonly api: ApiSection | { readonly error: string } | undefined
  readonly lambda: LambdaSection | { readonly error: string } | undefined
  readonly memory?: MemorySection | { readonly error: string } | undefined
}

const isError = (value: unknown): value is { readonly error: string } =>
  typeof value === "object" && value !== null && "error" in value

/** The methods the targets compare; ratios are over the photos all of them measured. */
const COMPARED: ReadonlyArray<MethodId> = ["imgpipe", "oneDecode", "naive"]

interface Row {
  readonly section: string
  readonly what: string
  readonly result: string
  readonly versus: string
  readonly ratio: string
  readonly target: string
}

interface Targets {
  readonly oneDecode: { readonly ratio: number; readonly met: boolean } | undefined
  readonly magick: { readonly ratio: number; readonly met: boolean; readonly naiveRatio: number } | undefined
  /** `share`: per CPU-second of the server when known (else wall req/s); `wallShare`: wall req/s. */
  readonly upload: { readonly share: number; readonly met: boolean; readonly wallShare: number } | undefined
}

const resizeAggregates = (resize: ResizeSection) => {
  const withMagick = resize.imagemagick === undefined ? COMPARED : [...COMPARED, "imagemagick" as const, "imagemagickNaive" as const]
  return aggregate(resize, [...withMagick, "fromLarge"])
}

const apiResult = (api: ApiSection, target: Target, endpoint: Endpoint) =>
  api.results.find((r) => r.target === target && r.endpoint === endpoint)

const perCpu = (n: number | undefined): string => (n === undefined ? "" : ` · ${fmt(n, 0)}/CPU-s`)

export const targetsOf = (results: Results): Targets => {
  let oneDecode: Targets["oneDecode"]
  let magick: Targets["magick"]
  let upload: Targets["upload"]
  if (results.resize !== undefined && !isError(results.resize)) {
    const agg = resizeAggregates(results.resize)
    const imgpipe = agg.imgpipe?.cpuMs
    const one = agg.oneDecode?.cpuMs
    if (imgpipe !== undefined && one !== undefined) oneDecode = { ratio: imgpipe / one, met: imgpipe / one <= 1.3 }
    const im = agg.imagemagick?.cpuMs
    const imNaive = agg.imagemagickNaive?.cpuMs
    if (imgpipe !== undefined && im !== undefined && imNaive !== undefined) {
      magick = { ratio: im / imgpipe, met: im / imgpipe >= 4, naiveRatio: imNaive / imgpipe }
    }
  }
  if (results.api !== undefined && !isError(results.api)) {
    const ours = apiResult(results.api, "imgpipe", "upload")
    const bare = apiResult(results.api, "bare", "upload")
    if (ours !== undefined && bare !== undefined) {
      const share = ours.perCpuSecond !== undefined && bare.perCpuSecond !== undefined
        ? ours.perCpuSecond / bare.perCpuSecond
        : ours.result.requestsPerSecond / bare.result.requestsPerSecond
      upload = { share, met: share >= 0.5, wallShare: ours.result.requestsPerSecond / bare.result.requestsPerSecond }
    }
  }
  return { oneDecode, magick, upload }
}

const tick = (met: boolean): string => (met ? "met" : "MISSED")

const rows = (results: Results): Array<Row> => {
  const out: Array<Row> = []
  const targets = targetsOf(results)
  if (results.resize === undefined) {
    // not run
  } else if (isError(results.resize)) {
    out.push({ section: "resize", what: "failed", result: results.resize.error.slice(0, 80), versus: "", ratio: "", target: "" })
  } else {
    const agg = resizeAggregates(results.resize)
    const imgpipe = agg.imgpipe
    const line = (id: MethodId, a: MethodAggregate | undefined): void => {
      const label = METHODS.find((m) => m.id === id)?.label ?? id
      if (a === undefined) {
        out.push({ section: "resize", what: label, result: "not measured", versus: "", ratio: "", target: "" })
        return
      }
      let versus = ""
      let ratio = ""
      let target = ""
      if (id === "oneDecode" && targets.oneDecode !== undefined) {
        versus = "imgpipe ÷ this"
        ratio = `${fmt(targets.oneDecode.ratio, 2)}×`
        target = `≤ 1.3×: ${tick(targets.oneDecode.met)}`
      } else if (id === "imagemagick" && targets.magick !== undefined) {
        versus = "this ÷ imgpipe"
        ratio = `${fmt(targets.magick.ratio, 2)}×`
        target = `≥ 4×: ${tick(targets.magick.met)}`
      } else if (id !== "imgpipe" && imgpipe !== undefined) {
        versus = "this ÷ imgpipe"
        ratio = `${fmt(a.cpuMs / imgpipe.cpuMs, 2)}×`
      }
      out.push({
        section: "resize",
        what: label,
        result: `${fmt(a.cpuMs, 0)} ms/img/core · ${fmt(1000 / a.cpuMs, 2)} img/s · ${fmtBytes(a.outputBytes)} out`,
        versus,
        ratio,
        target
      })
    }
    for (const method of METHODS) line(method.id, agg[method.id])
  }

  if (results.pipeline === undefined) {
    // not run
  } else if (isError(results.pipeline)) {
    out.push({ section: "pipeline", what: "failed", result: results.pipeline.error.slice(0, 80), versus: "", ratio: "", target: "" })
  } else {
    const p = results.pipeline
    out.push({
      section: "pipeline",
      what: `capacity (burst of ${p.burst.images})`,
      result: `${fmt(p.burst.perSecond, 2)} images/s fully processed` +
        (p.burst.cpuSecondsPerImage === undefined ? "" : ` · ${fmt(p.burst.cpuSecondsPerImage, 2)} CPU-s/image (≈ ${fmt(p.cores / p.burst.cpuSecondsPerImage, 1)}/s on ${p.cores} idle cores)`),
      versus: "",
      ratio: "",
      target: ""
    })
    out.push({
      section: "pipeline",
      what: `upload complete → ready at ${p.steady.offeredPerSecond}/s`,
      result: `p50 ${fmt(p.steady.p50Ms, 0)} ms · p95 ${fmt(p.steady.p95Ms, 0)} ms · ${fmt(p.steady.readyPerSecond, 2)} ready/s`,
      versus: "",
      ratio: "",
      target: ""
    })
  }

  if (results.api === undefined) {
    // not run
  } else if (isError(results.api)) {
    out.push({ section: "api", what: "failed", result: results.api.error.slice(0, 80), versus: "", ratio: "", target: "" })
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
          result: `${fmt(ours.result.requestsPerSecond, 0)} req/s · p99 ${ours.result.p99Ms} ms${perCpu(ours.perCpuSecond)}`,
          versus: "this ÷ bare (per CPU-s)",
          ratio: `${fmt(share * 100, 0)} %`,
          target: endpoint === "upload" && targets.upload !== undefined ? `≥ 50 %: ${tick(targets.upload.met)}` : ""
        })
      }
      if (bare !== undefined) {
        out.push({ section: "api (1 core)", what: `${path}, bare node:http`, result: `${fmt(bare.result.requestsPerSecond, 0)} req/s · p99 ${bare.result.p99Ms} ms${perCpu(bare.perCpuSecond)}`, versus: "", ratio: "", target: "" })
      }
    }
  }

  if (results.lambda === undefined) {
    // not run
  } else if (isError(results.lambda)) {
    out.push({ section: "lambda", what: "failed", result: results.lambda.error.slice(0, 80), versus: "", ratio: "", target: "" })
  } else {
    for (const h of results.lambda.handlers) {
      out.push({
        section: "lambda",
        what: h.name,
        result: h.missing
          ? `${h.entry} missing`
          : h.error !== undefined
          ? `error: ${h.error.slice(0, 60)}`
          : `${fmtBytes(h.bytes ?? Number.NaN)} (${fmtBytes(h.gzipBytes ?? Number.NaN)} gzip) · import ${fmt(h.importMs ?? Number.NaN, 0)} ms (${fmt(h.importCpuMs ?? Number.NaN, 0)} CPU)`,
        versus: h.missing || h.error !== undefined ? "" : "node start",
        ratio: h.missing || h.error !== undefined ? "" : `${fmt(results.lambda.nodeStartMs, 0)} ms`,
        target: ""
      })
    }
  }

  if (results.memory !== undefined) {
    const summary = isError(results.memory) ? [{ what: "failed", result: results.memory.error.slice(0, 80) }] : memorySummary(results.memory)
    for (const r of summary) out.push({ section: "memory", what: r.what, result: r.result, versus: "", ratio: "", target: "" })
  }
  return out
}

const HEAD: Row = { section: "section", what: "measurement", result: "result", versus: "compared", ratio: "ratio", target: "target" }
const KEYS = ["section", "what", "result", "versus", "ratio", "target"] as const

export const stdoutTable = (results: Results): string => {
  const all = [HEAD, ...rows(results)]
  const widths = KEYS.map((k) => Math.max(...all.map((r) => r[k].length)))
  const line = (r: Row) => KEYS.map((k, i) => r[k].padEnd(widths[i] ?? 0)).join(" │ ").trimEnd()
  const rule = widths.map((w) => "─".repeat(w)).join("─┼─")
  return [line(HEAD), rule, ...rows(results).map(line)].join("\n")
}

// ---- SVG --------------------------------------------------------------------------------------

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
    const agg = resizeAggregates(results.resize)
    const bars = METHODS.filter((m) => agg[m.id] !== undefined).map((m): Bar => ({
      label: m.label,
      value: agg[m.id]?.cpuMs ?? Number.NaN,
      text: `${fmt(agg[m.id]?.cpuMs ?? Number.NaN, 0)} ms`,
      colour: m.id === "imgpipe" ? "#1f6feb" : m.proposal ? "#8957e5" : m.id.startsWith("imagemagick") ? "#bc4c00" : "#57606a"
    }))
    const p = panel("Resize: CPU ms per image, three sizes (photo mix, one core; lower is better)", bars, y, width)
    panels.push(p)
    y += p.height + 20
  }
  if (results.api !== undefined && !isError(results.api)) {
    const api = results.api
    const bars = api.results.map((r): Bar => ({
      label: `${r.endpoint === "upload" ? "POST /upload" : "GET /get_image"} — ${r.target === "imgpipe" ? "imgpipe API" : "bare node:http"}`,
      value: r.perCpuSecond ?? r.result.requestsPerSecond,
      text: `${fmt(r.perCpuSecond ?? r.result.requestsPerSecond, 0)}/CPU-s · ${fmt(r.result.requestsPerSecond, 0)} req/s · p99 ${r.result.p99Ms} ms`,
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
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" viewBox="0 0 ${width} ${y + 20}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
${panels.map((p) => p.svg).join("\n")}
<text x="0" y="${y + 8}" font-size="11" fill="#57606a">${esc(footer)}</text>
</svg>
`
}

// ---- Markdown ---------------------------------------------------------------------------------

const mdTable = (head: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, align?: ReadonlyArray<"l" | "r">): string => {
  const sep = head.map((_, i) => (align?.[i] === "r" ? "---:" : "---"))
  return [head, sep, ...body].map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`).join("\n")
}

const resizeDetail = (resize: ResizeSection): string => {
  const methods = METHODS.filter((m) => resize.photos.some((p) => p.byMethod[m.id] !== undefined))
  const body = resize.photos.map((p) => [
    `\`${p.name}\``,
    `${p.width}×${p.height}`,
    fmtBytes(p.inputBytes),
    String(p.weight),
    fmt(p.probeMs, 1),
    ...methods.map((m) => {
      const r = p.byMethod[m.id]
      return r === undefined ? `– (${p.skipped[m.id] ?? "not run"})` : `${fmt(r.cpuMs, 0)} ms · ${fmtBytes(r.outputBytes)}`
    })
  ])
  const table = mdTable(["photo", "displayed", "input", "mix weight", "probe ms", ...methods.map((m) => m.label)], body, ["l", "l", "r", "r", "r", ...methods.map(() => "r" as const)])
  // Where the per-size path loses against one decode: each photo's share of the weighted gap.
  const totalWeight = resize.photos.reduce((s, p) => s + p.weight, 0)
  const gaps = resize.photos
    .filter((p) => p.byMethod.imgpipe !== undefined && p.byMethod.oneDecode !== undefined)
    .map((p) => {
      const ours = p.byMethod.imgpipe?.cpuMs ?? 0
      const one = p.byMethod.oneDecode?.cpuMs ?? 0
      return { name: p.name, ratio: ours / one, weighted: (p.weight / totalWeight) * (ours - one) }
    })
  const gapTotal = gaps.reduce((s, g) => s + g.weighted, 0)
  const gapLines = gaps
    .sort((a, b) => b.weighted - a.weighted)
    .map((g) => `- \`${g.name}\`: ${fmt(g.ratio, 2)}× one decode; ${fmt(g.weighted, 0)} ms of the mix's ${fmt(gapTotal, 0)} ms gap (${fmt((g.weighted / gapTotal) * 100, 0)} %)`)
  // Proposals sized from the measured columns (no new measurement): what the mix would cost.
  const usable = resize.photos.filter((p) => p.byMethod.imgpipe !== undefined && p.byMethod.oneDecode !== undefined && p.byMethod.fromLarge !== undefined)
  const usableWeight = usable.reduce((s, p) => s + p.weight, 0)
  const weighted = (cost: (p: PhotoResult) => number) => usable.reduce((s, p) => s + p.weight * cost(p), 0) / usableWeight
  const noHeifDecodes = (p: PhotoResult) => /\.(avif|heic|heif)$/i.test(p.name) ? p.byMethod.fromLarge?.cpuMs ?? 0 : p.byMethod.imgpipe?.cpuMs ?? 0
  const oneDecodeMix = weighted((p) => p.byMethod.oneDecode?.cpuMs ?? 0)
  const estimates: Array<[string, number]> = [
    ["as measured", weighted((p) => p.byMethod.imgpipe?.cpuMs ?? 0)],
    ["(a) one header read per job instead of two (`resize` returns what `probe` found)", weighted((p) => (p.byMethod.imgpipe?.cpuMs ?? 0) - 3 * p.probeMs)],
    ["(b) AVIF/HEIF: medium and small from the large rendition", weighted(noHeifDecodes)],
    ["(a) + (b)", weighted((p) => noHeifDecodes(p) - 3 * p.probeMs)],
    ["(c) one decode per image: the first job to claim an image writes all three sizes", oneDecodeMix]
  ]
  const estimateLines = usable.length === 0 ? [] : [
    "",
    "Proposed changes to the per-size path, sized from the columns above (mix-weighted CPU ms per image; the target is",
    `≤ 1.3 × ${fmt(oneDecodeMix, 0)} = ${fmt(1.3 * oneDecodeMix, 0)} ms):`,
    "",
    mdTable(["change", "ms per image", "÷ one decode"], estimates.map(([label, ms]) => [label, fmt(ms, 0), `${fmt(ms / oneDecodeMix, 2)}×`]), ["l", "r", "r"])
  ]
  return [
    table,
    ...estimateLines,
    "",
    "Methods:",
    ...METHODS.map((m) => `- **${m.label}**: ${m.description}.`),
    "",
    "Where the per-size path costs more than one decode (mix-weighted, largest share first):",
    ...gapLines
  ].join("\n")
}

export const markdown = (results: Results): string => {
  const m = results.machine
  const t = targetsOf(results)
  const lines: Array<string> = []
  lines.push("# Benchmarks")
  lines.push("")
  lines.push("<!-- Generated by `bun run bench` (packages/bench). Do not edit: run it again. -->")
  lines.push("")
  lines.push(`Run on ${m.date}, ${fmt(results.seconds, 0)} s in all. Regenerate with \`bun run bench\`.`)
  lines.push("")
  lines.push("![benchmark chart](benchmarks.svg)")
  lines.push("")
  lines.push("## Machine")
  lines.push("")
  lines.push(mdTable(["", ""], [
    ["CPU", `${m.cpu}, ${m.cores} cores`],
    ["memory", `${m.memoryGiB} GiB`],
    ["OS", m.os],
    ["Node.js", m.node],
    ["sharp / libvips", `${m.sharp} / ${m.vips}`],
    ["ImageMagick", m.imagemagick],
    ["load average (1/5/15 min) before → after", `${m.loadBefore} → ${m.loadAfter}`]
  ]))
  lines.push("")
  lines.push("A load average well above zero means other work shared the cores during the run: the resize")
  lines.push("costs are CPU time of the measuring process (robust to that), the pipeline and API numbers are")
  lines.push("wall-clock rates (not).")
  lines.push("")
  lines.push("## Summary")
  lines.push("")
  lines.push(mdTable(["section", "measurement", "result", "compared", "ratio", "target"], rows(results).map((r) => KEYS.map((k) => r[k]))))
  lines.push("")
  lines.push("## Targets")
  lines.push("")
  lines.push(t.oneDecode === undefined
    ? "- ProcessImage ≤ 1.3× one decode: not measured."
    : `- **ProcessImage's per-size path ≤ 1.3× sharp's one-decode cost**: ${fmt(t.oneDecode.ratio, 2)}× — ${t.oneDecode.met ? "met" : `missed by ${fmt((t.oneDecode.ratio / 1.3 - 1) * 100, 0)} %`}.`)
  lines.push(t.magick === undefined
    ? "- ≥ 4× faster than ImageMagick: not measured (ImageMagick missing or failed)."
    : `- **≥ 4× faster than ImageMagick**: ${fmt(t.magick.ratio, 2)}× against ImageMagick's best single command, ${fmt(t.magick.naiveRatio, 2)}× against one \`convert\` per size — ${t.magick.met ? "met" : "missed"}.`)
  lines.push(t.upload === undefined
    ? "- /upload ≥ 50 % of the bare handler: not measured."
    : `- **/upload ≥ 50 % of the bare handler's throughput**: ${fmt(t.upload.share * 100, 0)} % per CPU-second (${fmt(t.upload.wallShare * 100, 0)} % in wall-clock req/s) — ${t.upload.met ? "met" : "missed"}.`)
  lines.push("")

  lines.push("## 1. Resize cost per image")
  lines.push("")
  if (results.resize === undefined) lines.push("Not run.")
  else if (isError(results.resize)) lines.push(`Failed: ${results.resize.error}`)
  else {
    const r = results.resize
    lines.push(`Sizes: small ${r.sizes.small.width}, medium ${r.sizes.medium.width}, large ${r.sizes.large.width} px boxes. Photos: the load test's \`photos\` mix`)
    lines.push("(`loadtest/lib/mixes.json`); the summary's means are weighted by it. CPU ms of one image's three outputs,")
    lines.push("median of the repetitions, one libvips thread, libvips cache off. ImageMagick: one thread (`-limit thread 1`),")
    lines.push("CPU time of the `convert` process including its start-up.")
    if (r.imagemagickMissing !== undefined) lines.push(`\n${r.imagemagickMissing}.`)
    lines.push("")
    lines.push(resizeDetail(r))
  }
  lines.push("")
  lines.push("## 2. Embedded pipeline")
  lines.push("")
  if (results.pipeline === undefined) lines.push("Not run.")
  else if (isError(results.pipeline)) lines.push(`Failed: ${results.pipeline.error}`)
  else {
    const p = results.pipeline
    lines.push(`\`bun run start\` as a child process on a temporary data folder (${p.settings}), fed over HTTP.`)
    lines.push("")
    lines.push(mdTable(["phase", "images", "result"], [
      ["burst (capacity)", String(p.burst.images), `${fmt(p.burst.perSecond, 2)} images/s fully processed (${fmt(p.burst.seconds, 1)} s, ${p.burst.failed} not ready); the runner used ${fmt(p.burst.cpuSecondsPerImage ?? Number.NaN, 2)} CPU-s per image, i.e. ≈ ${fmt(p.cores / (p.burst.cpuSecondsPerImage ?? Number.NaN), 1)} images/s if it had the ${p.cores} cores to itself`],
      [`${p.steady.offeredPerSecond}/s offered`, String(p.steady.uploaded), `${fmt(p.steady.readyPerSecond, 2)} ready/s; upload complete → ready p50 ${fmt(p.steady.p50Ms, 0)} ms, p95 ${fmt(p.steady.p95Ms, 0)} ms, max ${fmt(p.steady.maxMs, 0)} ms; ${p.steady.failed} not ready`]
    ]))
    lines.push("")
    lines.push("The offered rate is half the measured capacity (or `BENCH_PIPELINE_RATE`), so the latency is that of a")
    lines.push("pipeline keeping up. Readiness is polled every 100 ms per image (every 500 ms during the burst). The CPU")
    lines.push("seconds per image are the runner process's own (/proc), status polls included.")
  }
  lines.push("")
  lines.push("## 3. API on one core")
  lines.push("")
  if (results.api === undefined) lines.push("Not run.")
  else if (isError(results.api)) lines.push(`Failed: ${results.api.error}`)
  else {
    const a = results.api
    lines.push(`The ECS API (\`packages/api/src/main.ts\`: PostgreSQL + S3 presigns) and a bare \`node:http\` handler with the same`)
    lines.push(`INSERT, reads and presigns (\`packages/bench/src/bare-server.ts\`), both on ${a.database}; ${a.pinning};`)
    lines.push(`autocannon, ${a.connections} connections, ${a.seconds} s per run after a 2 s warm-up. Request logs off on both.`)
    lines.push("")
    lines.push(mdTable(["endpoint", "server", "req/s", "per CPU-second", "p50 ms", "p99 ms", "expected answers", "other"], a.results.map((r) => [
      r.endpoint === "upload" ? "POST /upload" : "GET /get_image",
      r.target === "imgpipe" ? "imgpipe API" : "bare node:http",
      fmt(r.result.requestsPerSecond, 0),
      r.perCpuSecond === undefined ? "–" : fmt(r.perCpuSecond, 0),
      String(r.result.p50Ms),
      String(r.result.p99Ms),
      String(r.result.expected),
      String(r.result.unexpected + r.result.errors)
    ]), ["l", "l", "r", "r", "r", "r", "r", "r"]))
    lines.push("")
    lines.push("\"per CPU-second\": answered requests divided by the server process's CPU time (/proc), i.e. what one")
    lines.push("core serves when nothing else runs on it; the target's ratio uses it. req/s and the latencies are")
    lines.push("wall-clock, so they also show whatever else the machine was running (see the load average).")
  }
  lines.push("")
  lines.push("## 4. Lambda cold start")
  lines.push("")
  if (results.lambda === undefined) lines.push("Not run.")
  else if (isError(results.lambda)) lines.push(`Failed: ${results.lambda.error}`)
  else {
    const l = results.lambda
    lines.push(`esbuild, ESM, minified, \`sharp\` external (its native library ships beside the bundle). Import time: median`)
    lines.push(`of ${l.runs} fresh Node processes, measured inside the process; a bare \`node -e ''\` takes ${fmt(l.nodeStartMs, 0)} ms from spawn to exit.`)
    lines.push("The functions import the PostgreSQL layer from `core/src/sql/client.ts`; the embedded PGlite lives in")
    lines.push("`core/src/sql/embedded.ts`, so no handler bundle carries it.")
    lines.push("")
    lines.push(mdTable(["handler", "entry", "bundle", "gzip", "import ms", "import CPU ms", "heaviest inputs"], l.handlers.map((h) => [
      h.name,
      `\`${h.entry}\``,
      h.missing ? "missing" : h.error !== undefined ? `error: ${h.error}` : fmtBytes(h.bytes ?? Number.NaN),
      h.gzipBytes === undefined ? "" : fmtBytes(h.gzipBytes),
      h.importMs === undefined ? "" : fmt(h.importMs, 0),
      h.importCpuMs === undefined ? "" : fmt(h.importCpuMs, 0),
      (h.heaviest ?? []).map((x) => `${x.input} ${fmtBytes(x.bytes)}`).join(", ")
    ])))
  }
  lines.push("")
  lines.push("## 5. Decode memory")
  lines.push("")
  if (results.memory === undefined) lines.push("Not run.")
  else if (isError(results.memory)) lines.push(`Failed: ${results.memory.error}`)
  else lines.push(memoryMarkdown(results.memory))
  lines.push("")
  return lines.join("\n")
}
