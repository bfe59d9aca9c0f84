/**
 * Section 1: what the three renditions of one photo cost, side by side, in one process.
 *
 * Every sharp method runs on one libvips thread (`sharp.concurrency(1)`, the glibc default the
 * runtimes keep) with the operation cache off (as `configureSharp` sets it), one job at a time, and
 * is timed in CPU time of this process (`process.cpuUsage`: the JS thread plus libuv's pool): "ms
 * per image per core", unaffected by whatever else the machine runs. ImageMagick runs as a child,
 * limited to one thread, timed in its own CPU time by `/usr/bin/time` (10 ms resolution, summed
 * over the repetitions).
 */
import { settingsConfig } from "@imgpipe/core"
import { DEFAULT_DECODE_BUDGET_MIB, makeDecodeBudget } from "@imgpipe/core/resizer/memoryBudget"
import { makeSharpResizer } from "@imgpipe/core/resizer/SharpResizer"
import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { imagemagickVersion, lastMagickCpuMs } from "./resize/imagemagick.js"
import {
  type Measurement,
  type MethodId,
  METHODS,
  type PhotoResult,
  type ResizeSection,
  type Run
} from "./resize/methods.js"
import { makeRuns } from "./resize/runs.js"
import { fixturesDir, median, type MixEntry, progress, removeDir, tempDir } from "./util.js"

// ---- measurement ------------------------------------------------------------------------------

interface Sample {
  readonly cpuMs: number
  readonly wallMs: number
  readonly bytes: number
}

const measure = async (id: MethodId, run: Run, bytes: Buffer): Promise<Sample> => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  const out = await run(bytes)
  const wallMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  const cpuMs = id === "imagemagick" || id === "imagemagickNaive" ? lastMagickCpuMs() : (used.user + used.system) / 1000
  return { cpuMs, wallMs, bytes: out }
}

export interface ResizeOptions {
  readonly mix: ReadonlyArray<MixEntry>
  /** CPU milliseconds to spend per method and photo (repetitions follow from the first run). */
  readonly budgetMs: number
}

const WARM_UP_PHOTO = "photo-246x345.tiff"

export const runResizeSection = async (options: ResizeOptions): Promise<ResizeSection> => {
  const settings = Effect.runSync(settingsConfig)
  sharp.cache(false)
  sharp.concurrency(1)
  const magick = imagemagickVersion()
  if (magick.missing !== undefined) progress(`resize: ${magick.missing}; its column stays empty`)
  const scratch = tempDir("imgpipe-bench-resize-")
  const runs = makeRuns(settings.sizes, settings.maxPixels, magick.path, scratch)
  const resizer = makeSharpResizer({
    maxPixels: settings.maxPixels,
    budget: Effect.runSync(makeDecodeBudget(DEFAULT_DECODE_BUDGET_MIB))
  })
  const available = new Set(readdirSync(fixturesDir))
  const photos: Array<PhotoResult> = []
  try {
    // Codec and module start-up happen once per process, not per image: one untimed round first.
    if (available.has(WARM_UP_PHOTO)) {
      const bytes = readFileSync(join(fixturesDir, WARM_UP_PHOTO))
      for (const method of METHODS) await runs[method.id]?.(bytes).catch(() => 0)
    }
    for (const entry of options.mix) {
      if (!available.has(entry.name)) {
        progress(`resize: ${entry.name} is not in the fixtures; skipped`)
        continue
      }
      const bytes = readFileSync(join(fixturesDir, entry.name))
      const metadata = await sharp(bytes).metadata()
      const skipped: Partial<Record<MethodId, string>> = {}
      const samples: Partial<Record<MethodId, Array<Sample>>> = {}
      const repetitions: Partial<Record<MethodId, number>> = {}
      // The first run of each method is a sample and sizes the repetitions, so that every method
      // gets about the same CPU budget and a 3-second AVIF is not run eight times.
      for (const method of METHODS) {
        const run = runs[method.id]
        if (run === undefined) {
          skipped[method.id] = magick.missing ?? "not available"
          continue
        }
        try {
          const first = await measure(method.id, run, bytes)
          const magickMethod = method.id === "imagemagick" || method.id === "imagemagickNaive"
          const budget = magickMethod ? options.budgetMs * 1.5 : options.budgetMs
          const max = magickMethod ? 3 : 6
          repetitions[method.id] = Math.min(max, Math.max(1, Math.ceil(budget / Math.max(1, first.cpuMs))))
          samples[method.id] = [first]
        } catch (error) {
          skipped[method.id] = error instanceof Error ? error.message : String(error)
        }
      }
      // Interleaved repetitions: a burst of load from elsewhere hits every method alike.
      const rounds = Math.max(0, ...Object.values(repetitions))
      for (let round = 1; round < rounds; round++) {
        for (const method of METHODS) {
          const run = runs[method.id]
          const list = samples[method.id]
          if (run === undefined || list === undefined || round >= (repetitions[method.id] ?? 0)) continue
          list.push(await measure(method.id, run, bytes))
        }
      }
      // The header read that every job does before its decode (twice: `probe`, then in `resize`).
      const probeSamples: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const cpu = process.cpuUsage()
        await Effect.runPromise(Effect.either(resizer.probe(bytes)))
        const used = process.cpuUsage(cpu)
        probeSamples.push((used.user + used.system) / 1000)
      }
      const byMethod: Partial<Record<MethodId, Measurement>> = {}
      for (const method of METHODS) {
        const list = samples[method.id]
        if (list === undefined || list.length === 0) continue
        byMethod[method.id] = {
          cpuMs: median(list.map((s) => s.cpuMs)),
          wallMs: median(list.map((s) => s.wallMs)),
          outputBytes: median(list.map((s) => s.bytes)),
          repetitions: list.length
        }
      }
      const summary = METHODS.filter((m) => byMethod[m.id] !== undefined)
        .map((m) => `${m.id} ${byMethod[m.id]?.cpuMs.toFixed(0)}`)
        .join(", ")
      progress(`resize: ${entry.name} (CPU ms per image): ${summary}`)
      photos.push({
        name: entry.name,
        weight: entry.weight,
        inputBytes: bytes.byteLength,
        width: metadata.autoOrient.width,
        height: metadata.autoOrient.height,
        probeMs: median(probeSamples),
        byMethod,
        skipped
      })
    }
  } finally {
    removeDir(scratch)
  }
  return { photos, sizes: settings.sizes, imagemagick: magick.version, imagemagickMissing: magick.missing }
}
