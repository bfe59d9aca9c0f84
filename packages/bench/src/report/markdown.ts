/** docs/benchmarks.md: the machine, the summary, the targets and each section in detail. */
import { costMarkdown } from "../cost/report.js"
import { formatsMarkdown } from "../formats/report.js"
import { memoryMarkdown } from "../memory.js"
import { METHODS, type PhotoResult, type ResizeSection } from "../resize/methods.js"
import { sseMarkdown } from "../sse.js"
import { fmt, fmtBytes } from "../util.js"
import { webhooksMarkdown } from "../webhooks.js"
import { isError, type Results, targetsOf } from "./results.js"
import { HEADINGS } from "./sections.js"
import { KEYS, rows } from "./summary.js"

const mdTable = (
  head: ReadonlyArray<string>,
  body: ReadonlyArray<ReadonlyArray<string>>,
  align?: ReadonlyArray<"l" | "r">
): string => {
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
      return r === undefined
        ? `– (${p.skipped[m.id] ?? "not run"})`
        : `${fmt(r.cpuMs, 0)} ms · ${fmtBytes(r.outputBytes)}`
    })
  ])
  const table = mdTable(
    ["photo", "displayed", "input", "mix weight", "probe ms", ...methods.map((m) => m.label)],
    body,
    ["l", "l", "r", "r", "r", ...methods.map(() => "r" as const)]
  )
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
    .map((g) =>
      `- \`${g.name}\`: ${fmt(g.ratio, 2)}× one decode; ${fmt(g.weighted, 0)} ms of the mix's ${
        fmt(gapTotal, 0)
      } ms gap (${fmt((g.weighted / gapTotal) * 100, 0)} %)`
    )
  // Proposals sized from the measured columns (no new measurement): what the mix would cost.
  const usable = resize.photos.filter((p) =>
    p.byMethod.imgpipe !== undefined && p.byMethod.oneDecode !== undefined && p.byMethod.fromLarge !== undefined
  )
  const usableWeight = usable.reduce((s, p) => s + p.weight, 0)
  const weighted = (cost: (p: PhotoResult) => number) =>
    usable.reduce((s, p) => s + p.weight * cost(p), 0) / usableWeight
  const noHeifDecodes = (p: PhotoResult) =>
    /\.(avif|heic|heif)$/i.test(p.name) ? p.byMethod.fromLarge?.cpuMs ?? 0 : p.byMethod.imgpipe?.cpuMs ?? 0
  const oneDecodeMix = weighted((p) => p.byMethod.oneDecode?.cpuMs ?? 0)
  const estimates: Array<[string, number]> = [
    ["as measured", weighted((p) => p.byMethod.imgpipe?.cpuMs ?? 0)],
    [
      "(a) one header read per job instead of two (`resize` returns what `probe` found)",
      weighted((p) => (p.byMethod.imgpipe?.cpuMs ?? 0) - 3 * p.probeMs)
    ],
    ["(b) AVIF/HEIF: medium and small from the large rendition", weighted(noHeifDecodes)],
    ["(a) + (b)", weighted((p) => noHeifDecodes(p) - 3 * p.probeMs)],
    ["(c) one decode per image: the first job to claim an image writes all three sizes", oneDecodeMix]
  ]
  const estimateLines = usable.length === 0 ? [] : [
    "",
    "Proposed changes to the per-size path, sized from the columns above (mix-weighted CPU ms per image; the target is",
    `≤ 1.3 × ${fmt(oneDecodeMix, 0)} = ${fmt(1.3 * oneDecodeMix, 0)} ms):`,
    "",
    mdTable(
      ["change", "ms per image", "÷ one decode"],
      estimates.map(([label, ms]) => [label, fmt(ms, 0), `${fmt(ms / oneDecodeMix, 2)}×`]),
      ["l", "r", "r"]
    )
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

/** A numbered section: its heading, then "Not run.", "Failed: …" or what `render` adds, then a blank line. */
const section = <A extends object>(
  lines: Array<string>,
  heading: string,
  value: A | { readonly error: string } | undefined,
  render: (value: A) => void
): void => {
  lines.push(heading)
  lines.push("")
  if (value === undefined) lines.push("Not run.")
  else if (isError(value)) lines.push(`Failed: ${value.error}`)
  else render(value)
  lines.push("")
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
  lines.push(
    mdTable(
      ["section", "measurement", "result", "compared", "ratio", "target"],
      rows(results).map((r) => KEYS.map((k) => r[k]))
    )
  )
  lines.push("")
  lines.push("## Targets")
  lines.push("")
  lines.push(
    t.oneDecode === undefined
      ? "- ProcessImage ≤ 1.3× one decode: not measured."
      : `- **ProcessImage's per-size path ≤ 1.3× sharp's one-decode cost**: ${fmt(t.oneDecode.ratio, 2)}× — ${
        t.oneDecode.met ? "met" : `missed by ${fmt((t.oneDecode.ratio / 1.3 - 1) * 100, 0)} %`
      }.`
  )
  lines.push(
    t.magick === undefined
      ? "- ≥ 4× faster than ImageMagick: not measured (ImageMagick missing or failed)."
      : `- **≥ 4× faster than ImageMagick**: ${fmt(t.magick.ratio, 2)}× against ImageMagick's best single command, ${
        fmt(t.magick.naiveRatio, 2)
      }× against one \`convert\` per size — ${t.magick.met ? "met" : "missed"}.`
  )
  lines.push(
    t.upload === undefined
      ? "- /upload ≥ 50 % of the bare handler: not measured."
      : `- **/upload ≥ 50 % of the bare handler's throughput**: ${fmt(t.upload.share * 100, 0)} % per CPU-second (${
        fmt(t.upload.wallShare * 100, 0)
      } % in wall-clock req/s) — ${t.upload.met ? "met" : "missed"}.`
  )
  lines.push("")

  section(lines, HEADINGS.resize, results.resize, (r) => {
    lines.push(
      `Sizes: small ${r.sizes.small.width}, medium ${r.sizes.medium.width}, large ${r.sizes.large.width} px boxes. Photos: the load test's \`photos\` mix`
    )
    lines.push(
      "(`loadtest/lib/mixes.json`); the summary's means are weighted by it. CPU ms of one image's three outputs,"
    )
    lines.push(
      "median of the repetitions, one libvips thread, libvips cache off. ImageMagick: one thread (`-limit thread 1`),"
    )
    lines.push("CPU time of the `convert` process including its start-up.")
    if (r.imagemagickMissing !== undefined) lines.push(`\n${r.imagemagickMissing}.`)
    lines.push("")
    lines.push(resizeDetail(r))
  })
  section(lines, HEADINGS.pipeline, results.pipeline, (p) => {
    lines.push(`\`bun run start\` as a child process on a temporary data folder (${p.settings}), fed over HTTP.`)
    lines.push("")
    lines.push(mdTable(["phase", "images", "result"], [
      [
        "burst (capacity)",
        String(p.burst.images),
        `${fmt(p.burst.perSecond, 2)} images/s fully processed (${
          fmt(p.burst.seconds, 1)
        } s, ${p.burst.failed} not ready); the runner used ${
          fmt(p.burst.cpuSecondsPerImage ?? Number.NaN, 2)
        } CPU-s per image, i.e. ≈ ${
          fmt(p.cores / (p.burst.cpuSecondsPerImage ?? Number.NaN), 1)
        } images/s if it had the ${p.cores} cores to itself`
      ],
      [
        `${p.steady.offeredPerSecond}/s offered`,
        String(p.steady.uploaded),
        `${fmt(p.steady.readyPerSecond, 2)} ready/s; upload complete → ready p50 ${fmt(p.steady.p50Ms, 0)} ms, p95 ${
          fmt(p.steady.p95Ms, 0)
        } ms, max ${fmt(p.steady.maxMs, 0)} ms; ${p.steady.failed} not ready`
      ]
    ]))
    lines.push("")
    lines.push("The offered rate is half the measured capacity (or `BENCH_PIPELINE_RATE`), so the latency is that of a")
    lines.push(
      "pipeline keeping up. Readiness is polled every 100 ms per image (every 500 ms during the burst). The CPU"
    )
    lines.push("seconds per image are the runner process's own (/proc), status polls included.")
  })
  section(lines, HEADINGS.api, results.api, (a) => {
    lines.push(
      `The ECS API (\`packages/api/src/main.ts\`: PostgreSQL + S3 presigns) and a bare \`node:http\` handler with the same`
    )
    lines.push(
      `INSERT, reads and presigns (\`packages/bench/src/bare-server.ts\`), both on ${a.database}; ${a.pinning};`
    )
    lines.push(
      `autocannon, ${a.connections} connections, ${a.seconds} s per run after a 2 s warm-up. Request logs off on both.`
    )
    lines.push("")
    lines.push(
      mdTable(
        ["endpoint", "server", "req/s", "per CPU-second", "p50 ms", "p99 ms", "expected answers", "other"],
        a.results.map((r) => [
          r.endpoint === "upload" ? "POST /upload" : "GET /get_image",
          r.target === "imgpipe" ? "imgpipe API" : "bare node:http",
          fmt(r.result.requestsPerSecond, 0),
          r.perCpuSecond === undefined ? "–" : fmt(r.perCpuSecond, 0),
          String(r.result.p50Ms),
          String(r.result.p99Ms),
          String(r.result.expected),
          String(r.result.unexpected + r.result.errors)
        ]),
        ["l", "l", "r", "r", "r", "r", "r", "r"]
      )
    )
    lines.push("")
    lines.push("\"per CPU-second\": answered requests divided by the server process's CPU time (/proc), i.e. what one")
    lines.push("core serves when nothing else runs on it; the target's ratio uses it. req/s and the latencies are")
    lines.push("wall-clock, so they also show whatever else the machine was running (see the load average).")
  })
  section(lines, HEADINGS.lambda, results.lambda, (l) => {
    lines.push(
      `esbuild, ESM, minified, \`sharp\` external (its native library ships beside the bundle). Import time: median`
    )
    lines.push(
      `of ${l.runs} fresh Node processes, measured inside the process; a bare \`node -e ''\` takes ${
        fmt(l.nodeStartMs, 0)
      } ms from spawn to exit.`
    )
    lines.push("The functions import the PostgreSQL layer from `core/src/sql/client.ts`; the embedded PGlite lives in")
    lines.push("`core/src/sql/embedded.ts`, so no handler bundle carries it.")
    lines.push("")
    lines.push(
      mdTable(
        ["handler", "entry", "bundle", "gzip", "import ms", "import CPU ms", "heaviest inputs"],
        l.handlers.map((h) => [
          h.name,
          `\`${h.entry}\``,
          h.missing ? "missing" : h.error !== undefined ? `error: ${h.error}` : fmtBytes(h.bytes ?? Number.NaN),
          h.gzipBytes === undefined ? "" : fmtBytes(h.gzipBytes),
          h.importMs === undefined ? "" : fmt(h.importMs, 0),
          h.importCpuMs === undefined ? "" : fmt(h.importCpuMs, 0),
          (h.heaviest ?? []).map((x) => `${x.input} ${fmtBytes(x.bytes)}`).join(", ")
        ])
      )
    )
  })
  section(lines, HEADINGS.memory, results.memory, (m) => lines.push(memoryMarkdown(m)))
  section(lines, HEADINGS.webhooks, results.webhooks, (w) => lines.push(webhooksMarkdown(w)))
  section(lines, HEADINGS.sse, results.sse, (s) => lines.push(sseMarkdown(s)))
  section(lines, HEADINGS.formats, results.formats, (f) => lines.push(formatsMarkdown(f)))
  section(lines, HEADINGS.cost, results.cost, (c) => lines.push(costMarkdown(c)))
  return lines.join("\n")
}
