/**
 * Section 5: what one message costs in memory, and whether the decode budget holds.
 *
 * The message classes: small JPEG, 12 MP JPEG, 50 MP PNG, AVIF (12 MP, and the 49 MP 10-bit AVIF that
 * is the largest input the Lambda budget accepts). For each class and size box a fresh Node process
 * (packages/core/test/support/peak-rss-child.ts)
 * does what ProcessImage does for one size (`Resizer.probe`, then `Resizer.resize`) and reports
 * its peak RSS (VmHWM) above its own baseline, beside the estimate the decode budget takes for it.
 * Then the worst input the Lambda budget accepts is resized twice at once (ProcessImage's batch
 * concurrency) through that budget: its peak must stay under the budget. The children run with
 * ProcessImage's allocator and libvips settings. Per class, the Lambda memory it implies: the
 * runtime's baseline plus the batch concurrency × the class's worst peak (every message of a batch
 * of that class in flight at once).
 *
 * About 2 minutes: an AVIF has no shrink-on-load (its peak is the full decode whatever the box, as
 * every earlier run measured), so the AVIF classes are measured into the large box only, and the
 * 12 MP JPEG is the real phone-mix fixture instead of one made here.
 */
import { LAMBDA_BASELINE_MIB, MIB } from "@imgpipe/core/resizer/memoryBudget"
import type { PeakRss } from "@imgpipe/core/test/support/peak-rss-child"
import { execFile } from "node:child_process"
import { statSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import sharp from "sharp"
import { PROCESS_IMAGE } from "../../infra/settings.js"
import { fixturesDir, fmt, mdTable, progress, removeDir, repoRoot, tempDir } from "./util.js"

export interface MemoryRow {
  readonly name: string
  /** The message class the row belongs to (absent in older results: the name is the class). */
  readonly messageClass?: string
  readonly megapixels: number
  readonly fileBytes: number
  readonly box: number
  readonly peakMib: number
  readonly estimateMib: number
  readonly ms: number
}

export interface MemorySection {
  readonly rows: ReadonlyArray<MemoryRow>
  readonly lambdaMemoryMb: number
  readonly budgetMib: number
  readonly concurrency: number
  /** The class with the largest estimate that the Lambda budget accepts, resized `concurrency`× at once. */
  readonly worst: {
    readonly name: string
    readonly estimateMib: number
    readonly peakMib: number
    readonly totalRssMib: number
    readonly ms: number
    /** The same `concurrency` copies at once with no budget (what ProcessImage did before it). */
    readonly unbudgetedPeakMib: number
  }
  /** Classes whose estimate exceeds the budget: refused as `too_large_to_decode`. */
  readonly refused: ReadonlyArray<string>
  /** The Lambda runtime's baseline the budget leaves out (MiB), for the implied memory per class. */
  readonly baselineMib?: number
}

interface Input {
  readonly messageClass: string
  readonly name: string
  readonly path: string
  readonly megapixels: number
  /** The boxes measured: an AVIF decodes whole whatever the box, so the large one says it all. */
  readonly boxes: "all" | "largest"
}

const BIRD = join(fixturesDir, "photo-6028x3391-bird-20mp.jpg")

/** The message classes; the 50 MP PNG and the 49 MP AVIF are made from the 20 MP photo, as no fixture is that large. */
const makeInputs = async (dir: string): Promise<ReadonlyArray<Input>> => {
  progress("memory: making the 50 MP PNG and the 49 MP AVIF")
  // Upscaled from a small copy, with adaptive PNG filtering: ~9 MiB, under the 25 MiB upload limit
  // as a real 50 MP PNG must be (without the filtering it was 28.4 MiB, an upload /upload refuses).
  const smallCopy = await sharp(BIRD).resize(866, 577, { fit: "fill" }).toBuffer()
  const png = join(dir, "50mp.png")
  await sharp(smallCopy).resize(8660, 5773, { fit: "fill" }).png({ compressionLevel: 6, adaptiveFiltering: true })
    .toFile(png)
  const avif = join(dir, "49mp-10bit.avif")
  await sharp(BIRD).resize(7000, 7000, { fit: "fill" }).avif({ quality: 45, effort: 0, bitdepth: 10 }).toFile(avif)
  return [
    {
      messageClass: "small JPEG",
      name: "small JPEG (1.3 MP)",
      path: join(fixturesDir, "photo-1280x1024-grass-progressive.jpg"),
      megapixels: 1.31,
      boxes: "all"
    },
    {
      messageClass: "12 MP JPEG",
      name: "12 MP JPEG (phone camera)",
      path: join(fixturesDir, "photo-4272x2848-sunset-progressive.jpg"),
      megapixels: 12.17,
      boxes: "all"
    },
    { messageClass: "50 MP PNG", name: "50 MP PNG", path: png, megapixels: 49.99, boxes: "all" },
    {
      messageClass: "AVIF (12 MP phone photo)",
      name: "12 MP AVIF",
      path: join(fixturesDir, "photo-3024x4032-iphone-xs-p3.avif"),
      megapixels: 12.19,
      boxes: "largest"
    },
    {
      messageClass: "AVIF, the largest accepted (49 MP, 10 bits)",
      name: "49 MP AVIF, 10 bits",
      path: avif,
      megapixels: 49,
      boxes: "largest"
    }
  ]
}

const measure = async (path: string, box: number, copies = 1, budgetMib?: number): Promise<PeakRss> => {
  const args = [
    "--import",
    "tsx",
    join(repoRoot, "packages/core/test/support/peak-rss-child.ts"),
    path,
    `${box}x${box}`,
    String(copies),
    ...(budgetMib === undefined ? [] : [String(budgetMib)])
  ]
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    timeout: 300_000,
    cwd: repoRoot,
    env: LAMBDA_ENV
  })
  const result: unknown = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")
  if (typeof result === "object" && result !== null && "error" in result) throw new Error(String(result.error))
  return result as PeakRss
}

const mib = (bytes: number) => bytes / MIB

/** The allocator and libvips settings ProcessImage runs with (packages/infra/functions.ts). */
export const LAMBDA_ENV = {
  ...process.env,
  MALLOC_ARENA_MAX: String(PROCESS_IMAGE.mallocArenaMax),
  MALLOC_MMAP_THRESHOLD_: String(PROCESS_IMAGE.mallocMmapThresholdBytes),
  IMGPIPE_SHARP_CONCURRENCY: String(PROCESS_IMAGE.sharpConcurrency)
}

export const runMemorySection = async (options: { readonly boxes: ReadonlyArray<number> }): Promise<MemorySection> => {
  const dir = tempDir("imgpipe-bench-memory-")
  try {
    const inputs = await makeInputs(dir)
    const rows: Array<MemoryRow> = []
    // One process at a time: each measures only itself, but they share the cores.
    for (const input of inputs) {
      const boxes = input.boxes === "all" ? options.boxes : [Math.max(...options.boxes)]
      for (const box of boxes) {
        const m = await measure(input.path, box)
        const row = {
          messageClass: input.messageClass,
          name: input.name,
          megapixels: input.megapixels,
          fileBytes: statSync(input.path).size,
          box,
          peakMib: mib(m.peakBytes - m.baselineBytes),
          estimateMib: mib(m.estimateBytes),
          ms: m.ms
        }
        progress(
          `memory: ${input.name} into ${box}: peak +${fmt(row.peakMib, 0)} MiB, estimate ${fmt(row.estimateMib, 0)} MiB`
        )
        rows.push(row)
      }
    }
    const lambdaMemoryMb = Number.parseInt(PROCESS_IMAGE.memory, 10)
    const budgetMib = lambdaMemoryMb - LAMBDA_BASELINE_MIB
    const concurrency = PROCESS_IMAGE.batchConcurrency
    const accepted = rows.filter((r) => r.estimateMib <= budgetMib)
    const refused = [...new Set(rows.filter((r) => r.estimateMib > budgetMib).map((r) => `${r.name} into ${r.box}`))]
    const worstRow = accepted.reduce((a, b) => (b.estimateMib > a.estimateMib ? b : a))
    const worstInput = inputs.find((i) => i.name === worstRow.name) ?? inputs[0]!
    progress(`memory: ${worstRow.name} ${concurrency}× at once through a ${budgetMib} MiB budget`)
    const w = await measure(worstInput.path, worstRow.box, concurrency, budgetMib)
    progress(`memory: the same without a budget`)
    const unbudgeted = await measure(worstInput.path, worstRow.box, concurrency)
    return {
      rows,
      lambdaMemoryMb,
      budgetMib,
      concurrency,
      worst: {
        name: `${worstRow.name} into ${worstRow.box}`,
        estimateMib: worstRow.estimateMib,
        peakMib: mib(w.peakBytes - w.baselineBytes),
        totalRssMib: mib(w.peakBytes),
        ms: w.ms,
        unbudgetedPeakMib: mib(unbudgeted.peakBytes - unbudgeted.baselineBytes)
      },
      refused,
      baselineMib: LAMBDA_BASELINE_MIB
    }
  } finally {
    removeDir(dir)
  }
}

// ---- report -----------------------------------------------------------------------------------

export interface MessageClass {
  readonly messageClass: string
  /** The row with the largest peak: which input and box. */
  readonly worst: MemoryRow
  /** Lambda memory (MB) for `concurrency` messages of the class at once: baseline + concurrency × peak. */
  readonly impliedMb: number
}

/**
 * Per message class, its worst measured peak and the Lambda memory that implies at the batch
 * concurrency: every message of a batch of that class in flight at once on top of the runtime's
 * baseline (what the decode budget would otherwise have to serialise).
 */
export const messageClasses = (s: MemorySection): ReadonlyArray<MessageClass> => {
  const baseline = s.baselineMib ?? LAMBDA_BASELINE_MIB
  const classes = new Map<string, MemoryRow>()
  for (const row of s.rows) {
    const key = row.messageClass ?? row.name
    const seen = classes.get(key)
    if (seen === undefined || row.peakMib > seen.peakMib) classes.set(key, row)
  }
  return [...classes].map(([messageClass, worst]) => ({
    messageClass,
    worst,
    impliedMb: Math.ceil(baseline + s.concurrency * worst.peakMib)
  }))
}

/** One line per class for the summary table. */
export const memorySummary = (s: MemorySection): ReadonlyArray<{ readonly what: string; readonly result: string }> => [
  ...messageClasses(s).map((c) => ({
    what: `${c.messageClass} (${c.worst.name} → ${c.worst.box} px)`,
    result: `peak +${fmt(c.worst.peakMib, 0)} MiB · estimate ${
      fmt(c.worst.estimateMib, 0)
    } MiB · ${s.concurrency} at once: ${c.impliedMb} MB Lambda`
  })),
  {
    what: `worst accepted, ${s.concurrency} at once`,
    result: `${s.worst.name}: peak +${fmt(s.worst.peakMib, 0)} MiB ≤ budget ${s.budgetMib} MiB: ${
      s.worst.peakMib <= s.budgetMib ? "yes" : "NO"
    }`
  },
  { what: `the same with no budget`, result: `peak +${fmt(s.worst.unbudgetedPeakMib, 0)} MiB` }
]

export const memoryMarkdown = (s: MemorySection): string =>
  [
    `Peak RSS per message class (the worst row of the class below), and the Lambda memory it implies for ProcessImage at its batch concurrency (${s.concurrency} messages at once): the ${
      s.baselineMib ?? LAMBDA_BASELINE_MIB
    } MiB runtime baseline + ${s.concurrency} × the peak. ProcessImage is configured with ${s.lambdaMemoryMb} MB.`,
    "",
    mdTable(
      ["message class", "worst input → box", "peak above baseline", "estimate", `${s.concurrency} at once`, "fits?"],
      messageClasses(s).map((c) => [
        c.messageClass,
        `${c.worst.name} → ${c.worst.box} px`,
        `${fmt(c.worst.peakMib, 0)} MiB`,
        `${fmt(c.worst.estimateMib, 0)} MiB`,
        `${c.impliedMb} MB`,
        c.impliedMb <= s.lambdaMemoryMb
          ? `yes (${s.lambdaMemoryMb} MB)`
          : `no: the decode budget makes the second wait`
      ])
    ),
    "",
    "One fresh Node process per row does what ProcessImage does for one size (`Resizer.probe`, then `Resizer.resize`:",
    "sharp cache off, sequential read, one libvips thread). Peak: the process's VmHWM above its RSS just before the",
    "work; estimate: what the decode budget takes for it (packages/core/src/resizer/memoryEstimate.ts).",
    "",
    mdTable(
      ["input", "file", "box", "peak above baseline", "estimate", "time"],
      s.rows.map((r) => [
        `${r.name}`,
        `${fmt(r.fileBytes / MIB, 1)} MiB`,
        `${r.box} px`,
        `${fmt(r.peakMib, 0)} MiB`,
        `${fmt(r.estimateMib, 0)} MiB`,
        `${fmt(r.ms / 1000, 1)} s`
      ])
    ),
    "",
    `ProcessImage: ${s.lambdaMemoryMb} MB, decode budget ${s.budgetMib} MiB (memory − ${LAMBDA_BASELINE_MIB} MiB baseline), ` +
    `${s.concurrency} messages at once. Worst accepted input, ${s.worst.name}, ${s.concurrency}× at once through the budget: ` +
    `peak +${fmt(s.worst.peakMib, 0)} MiB above baseline (${
      fmt(s.worst.totalRssMib, 0)
    } MiB RSS in all, tsx included) ` +
    `against the ${s.budgetMib} MiB budget, in ${fmt(s.worst.ms / 1000, 1)} s (the second waited for the first); ` +
    `with no budget the two decode side by side and peak at +${fmt(s.worst.unbudgetedPeakMib, 0)} MiB.`,
    s.refused.length === 0
      ? "No class is over the budget."
      : `Over the budget (refused as \`too_large_to_decode\`): ${s.refused.join(", ")}.`
  ].join("\n")
