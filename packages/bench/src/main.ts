/**
 * `bun run bench`: resize cost against the alternatives, the embedded pipeline end to end, the API
 * against a bare handler on one core, the Lambda handlers' cold-start weight, and the peak memory
 * of a resize per message class against the decode budget, webhook delivery, open event streams, and
 * what each IMGPIPE_FORMATS set costs in CPU, bytes and memory. Prints progress and one table, and
 * regenerates docs/benchmarks.md and docs/benchmarks.svg.
 *
 * Time budget: at most 10 minutes on 2 idle cores (it took ~17 before these budgets). Each section
 * prints its wall time when done, and the run ends with a "time per section" line (also in the
 * report's header), so an overrun names its section. Budget per section, wall seconds on idle cores:
 *   resize    150  both mixes, 15 photos, 6 methods; imgpipe and one decode ≥ 3 samples on photos
 *                  weighing ≥ 10 % of a mix, the rest ~400 ms of CPU per method (ImageMagick's
 *                  one-convert-per-size on a 16 MP photo alone is ~5 s a sample)
 *   pipeline   75  a burst of 40, then 30 s at half the capacity
 *   api        60  4 × 8 s of autocannon, plus start-up
 *   lambda     30  4 bundles, 5 cold imports each
 *   memory    120  5 inputs (the 50 MP PNG and 49 MP AVIF made first), AVIFs into the large box only,
 *                  the worst accepted class 2× at once with and without the budget
 *   webhooks   20  300 deliveries at 2 concurrencies
 *   sse        45  1,000 open streams
 *   formats   100  3 format sets × 9 photos at ~800 ms of CPU each; encoder settings on the 4 photos
 *                  that carry 75 % of the mix, ~600 ms per setting
 *   cost        0  computed from resize and formats
 * Under load (a CI on the same 2 cores) every wall time stretches; the CPU-time figures do not.
 * Measured alone at load average 7–8 on 2026-11-30 (nothing idle was available): resize 198 s,
 * memory 136 s, formats 134 s (it was 588 s at load 10 before the budget).
 *
 * BENCH_SECTIONS=resize,pipeline,api,lambda,memory,webhooks,sse,formats picks sections (all by
 * default; a partial run still rewrites the documents, with the other sections marked "not run").
 * `bun run bench -- --only memory` (a comma list) runs those sections and only prints them, leaving
 * the documents alone; with `--splice` it also rewrites those sections, and only those, in
 * docs/benchmarks.md. `--json <file>` writes the run's results (report/results.ts) as JSON.
 * `--quick`: the formats section measures the `small` mix once per photo (a try-out, not a result).
 * The `cost` section measures nothing: it prices the resize and formats sections' results per
 * million images (cost/section.ts; docs/benchmarks-cost.svg), from this run or from `--from <file>`
 * (an earlier `--json` file), e.g. `--only cost --from r.json --splice`; `--views N` (default 20).
 * With `--from`, every chosen section is rendered from that file instead of measured, e.g.
 * `--only formats,cost --from r.json --splice` (the splice note gives that run's date and load).
 * BENCH_DATABASE_URL: the PostgreSQL server the API section creates its scratch database on
 * (default the local one).
 * BENCH_PIPELINE_RATE: uploads/s of the pipeline's latency phase (default: half the capacity).
 */
import { settingsConfig } from "@imgpipe/core"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg, release, totalmem, type } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { runApiSection } from "./api.js"
import { type CostSection, costSection, viewsFromArgs } from "./cost/section.js"
import { runFormatsSection } from "./formats.js"
import { runLambdaSection } from "./lambda.js"
import { runMemorySection } from "./memory.js"
import { runPipelineSection } from "./pipeline.js"
import { costChart } from "./report/costChart.js"
import { markdown } from "./report/markdown.js"
import { isError, type Results } from "./report/results.js"
import { HEADINGS, type Section, SECTIONS, spliceSections } from "./report/sections.js"
import { stdoutTable } from "./report/summary.js"
import { svgChart } from "./report/svg.js"
import { runResizeSection } from "./resize.js"
import { imagemagickVersion, MAGICK_INSTALL } from "./resize/imagemagick.js"
import { runSseSection } from "./sse.js"
import { elapsedSeconds, progress, readMix, repoRoot } from "./util.js"
import { runWebhooksSection } from "./webhooks.js"

const onlyAt = process.argv.indexOf("--only")
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined
const chosen = new Set<Section>(
  (only ?? process.env.BENCH_SECTIONS ?? SECTIONS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is Section => (SECTIONS as ReadonlyArray<string>).includes(s))
)
const quick = process.argv.includes("--quick")

// `--from <results.json>`: an earlier `--json` run. Its sections are rendered instead of measured
// (e.g. to splice a section measured earlier, or to price one with `cost`).
const fromAt = process.argv.indexOf("--from")
const fromPath = fromAt >= 0 ? process.argv[fromAt + 1] : undefined
const earlier = fromPath === undefined ? undefined : (JSON.parse(readFileSync(fromPath, "utf8")) as Results)

const load = (): string => loadavg().map((n) => n.toFixed(2)).join(" / ")

/** Wall seconds each section took, in the order they ran (printed at the end, and in the report). */
const sectionSeconds: Partial<Record<Section, number>> = {}

/** A section that throws is reported as failed; the others still run. */
const attempt = async <A>(
  name: Section,
  run: () => Promise<A>
): Promise<A | { readonly error: string } | undefined> => {
  if (!chosen.has(name)) return undefined
  if (earlier !== undefined) return earlier[name as keyof Results] as A | { readonly error: string } | undefined
  progress(`${name}: starting`)
  const startedAt = elapsedSeconds()
  const took = () => {
    sectionSeconds[name] = elapsedSeconds() - startedAt
    return `${sectionSeconds[name].toFixed(0)} s`
  }
  try {
    const result = await run()
    progress(`${name}: done in ${took()}`)
    return result
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    progress(`${name}: FAILED after ${took()}: ${message.split("\n")[0] ?? message}`)
    return { error: message.split("\n").slice(0, 3).join(" ") }
  }
}

/** Under a section rewritten alone: when and where, as the document's header is the full run's. */
const spliceNote = ({ machine: m }: Results): string =>
  `_Measured alone on ${m.date} (${m.cpu}, ${m.cores} cores, load ${m.loadBefore} → ${m.loadAfter}); ` +
  "the machine, summary and targets above are from the last full run._"

const costSvg = ({ machine: m }: Results, cost: CostSection): string =>
  costChart(cost, `${m.cpu}, ${m.cores} cores · sharp ${m.sharp} / libvips ${m.vips} · measured ${m.date}`)

const main = async () => {
  const loadBefore = load()
  progress(`imgpipe bench: ${[...chosen].join(", ")} on ${cpus().length} cores (load ${loadBefore})`)
  const mix = readMix("photos")
  const rateEnv = process.env.BENCH_PIPELINE_RATE
  // Both mixes; a photo in both is measured once. At least 3 samples of imgpipe and one decode on a
  // photo that weighs ≥ 10 % of a mix; else what 400 ms of CPU per method allows.
  const resize = await attempt(
    "resize",
    () =>
      runResizeSection({
        mixes: [{ name: "photos", entries: mix }, { name: "phone", entries: readMix("phone") }],
        budgetMs: 400,
        minRepetitions: 3
      })
  )
  const pipeline = await attempt(
    "pipeline",
    () =>
      runPipelineSection({
        mix,
        burstImages: 40,
        rate: rateEnv === undefined || rateEnv === "" ? undefined : Number(rateEnv),
        steadySeconds: 30
      })
  )
  const api = await attempt("api", () => runApiSection({ seconds: 8, connections: 16 }))
  const lambda = await attempt("lambda", () => runLambdaSection(5))
  const memory = await attempt("memory", () => runMemorySection({ boxes: [320, 2048] }))
  // About 20 s: 300 deliveries at the default concurrency and at 32.
  const webhooks = await attempt("webhooks", () => runWebhooksSection({ deliveries: 300, concurrencies: [8, 32] }))
  // 1,000 open event streams: idle cost and fan-out of one change (under a minute; most of it opening them).
  const sse = await attempt("sse", () => runSseSection({ streams: 1000, windowSeconds: 4 }))
  // IMGPIPE_FORMATS none / webp / webp,avif, a fresh process each, then the encoder settings.
  const formats = await attempt(
    "formats",
    () => runFormatsSection({ mix: quick ? readMix("small") : mix, quick, sizes: Effect.runSync(settingsConfig).sizes })
  )

  let cost: Results["cost"]
  if (chosen.has("cost")) {
    try {
      cost = costSection(
        { resize: resize ?? earlier?.resize, formats: formats ?? earlier?.formats },
        viewsFromArgs(process.argv)
      )
    } catch (error) {
      cost = { error: error instanceof Error ? error.message : String(error) }
    }
  }
  const measuredHere = earlier === undefined && [...chosen].some((s) => s !== "cost")
  const results: Results = {
    machine: earlier !== undefined && !measuredHere ? earlier.machine : {
      cpu: cpus()[0]?.model.trim() ?? "unknown",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      node: process.version,
      sharp: sharp.versions.sharp ?? "?",
      vips: sharp.versions.vips,
      imagemagick: imagemagickVersion().version ?? `not installed: \`${MAGICK_INSTALL}\``,
      loadBefore,
      loadAfter: load(),
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z")
    },
    seconds: elapsedSeconds(),
    sectionSeconds,
    resize,
    pipeline,
    api,
    lambda,
    memory,
    webhooks,
    sse,
    formats,
    cost
  }
  progress(
    `time per section: ${
      Object.entries(sectionSeconds).map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`).join(" · ")
    } (all: ${elapsedSeconds().toFixed(0)} s)`
  )
  const jsonAt = process.argv.indexOf("--json")
  const jsonPath = jsonAt >= 0 ? process.argv[jsonAt + 1] : undefined
  if (jsonPath !== undefined) {
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`)
    progress(`wrote the results to ${jsonPath}`)
  }
  if (only !== undefined) {
    process.stdout.write(`\n${stdoutTable(results)}\n\n`)
    if (process.argv.includes("--splice")) {
      if (cost !== undefined && !isError(cost)) {
        writeFileSync(join(repoRoot, "docs/benchmarks-cost.svg"), costSvg(results, cost))
      }
      const path = join(repoRoot, "docs/benchmarks.md")
      writeFileSync(
        path,
        spliceSections(
          readFileSync(path, "utf8"),
          markdown(results),
          [...chosen].map((s) => HEADINGS[s]),
          spliceNote(results)
        )
      )
      progress(
        `replaced ${[...chosen].join(", ")} in docs/benchmarks.md (the summary and other sections are unchanged)`
      )
    }
    return
  }
  writeFileSync(join(repoRoot, "docs/benchmarks.svg"), svgChart(results))
  if (cost !== undefined && !isError(cost)) {
    writeFileSync(join(repoRoot, "docs/benchmarks-cost.svg"), costSvg(results, cost))
  }
  writeFileSync(join(repoRoot, "docs/benchmarks.md"), markdown(results))
  process.stdout.write(`\n${stdoutTable(results)}\n\n`)
  progress(`wrote docs/benchmarks.md and docs/benchmarks.svg in ${elapsedSeconds().toFixed(0)} s`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
