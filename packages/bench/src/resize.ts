/**
 * Section 1: what the three renditions of one photo cost, side by side, in one process.
 *
 * Every sharp method runs on one libvips thread (`sharp.concurrency(1)`, the glibc default the
 * runtimes keep) with the operation cache off (as `configureSharp` sets it), one job at a time, and
 * is timed in CPU time of this process (`process.cpuUsage`: the JS thread plus libuv's pool): "ms
 * per image per core", unaffected by whatever else the machine runs. ImageMagick runs as a child,
 * limited to one thread, timed in its own CPU time by `/usr/bin/time` (10 ms resolution, summed
 * over the repetitions).
 *
 * Every mix of `options.mixes` gets its rows (the `photos` mix and the `phone` mix in `bun run
 * bench`); a file in several mixes is measured once. On a photo that weighs at least 10 % of a mix,
 * imgpipe and the one-decode baseline (the target's ratio) get at least `minRepetitions` samples;
 * every other method and photo gets what the CPU budget per method allows, at least one. An upload the mix expects to be refused is only probed:
 * the refusal and its CPU are reported, and it is left out of the means the methods compare.
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
  type Refusal,
  repetitionsFor,
  type ResizeMix,
  type ResizeSection,
  type Run,
  weightyPhotos
} from "./resize/methods.js"
import { makeRuns } from "./resize/runs.js"
import { contentTypeOf, fixturesDir, median, type MixEntry, progress, removeDir, tempDir } from "./util.js"

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
  /** The mixes to report, `photos` first; a file in several is measured once. */
  readonly mixes: ReadonlyArray<{ readonly name: string; readonly entries: ReadonlyArray<MixEntry> }>
  /** CPU milliseconds to spend per method and photo (repetitions follow from the first run). */
  readonly budgetMs: number
  /** Samples at least of imgpipe and one decode on a photo that weighs ≥ 10 % of a mix (the target's ratio). */
  readonly minRepetitions: number
}

const WARM_UP_PHOTO = "photo-246x345.tiff"

/** A photo with this share of a mix's accepted weight gets `minRepetitions`; the tail fewer. */
const WEIGHTY_SHARE = 0.1

/** The methods whose ratio is a target: their medians need the repetitions. */
const TARGET_METHODS: ReadonlySet<MethodId> = new Set(["imgpipe", "oneDecode"])

/** One file's measurements, made once whatever the mixes it is in. */
type Measured = Omit<PhotoResult, "weight">

const probeCpuMs = async (
  probe: () => Promise<unknown>,
  times: number
): Promise<number> => {
  const samples: Array<number> = []
  for (let i = 0; i < times; i++) {
    const cpu = process.cpuUsage()
    await probe()
    const used = process.cpuUsage(cpu)
    samples.push((used.user + used.system) / 1000)
  }
  return median(samples)
}

export const runResizeSection = async (options: ResizeOptions): Promise<ResizeSection> => {
  const settings = Effect.runSync(settingsConfig)
  sharp.cache(false)
  sharp.concurrency(1)
  const magick = imagemagickVersion()
  if (magick.missing !== undefined) progress(`resize: ${magick.missing}; its columns stay empty`)
  const scratch = tempDir("imgpipe-bench-resize-")
  const runs = makeRuns(settings.sizes, settings.maxPixels, magick.path, scratch)
  const resizer = makeSharpResizer({
    maxPixels: settings.maxPixels,
    budget: Effect.runSync(makeDecodeBudget(DEFAULT_DECODE_BUDGET_MIB))
  })
  const available = new Set(readdirSync(fixturesDir))
  const weighty = weightyPhotos(options.mixes, WEIGHTY_SHARE)
  const measured = new Map<string, Measured>()
  const mixesOfFile = (name: string) =>
    options.mixes.filter((m) => m.entries.some((e) => e.name === name)).map((m) => m.name)

  const measurePhoto = async (name: string): Promise<Measured> => {
    const bytes = readFileSync(join(fixturesDir, name))
    const metadata = await sharp(bytes).metadata()
    const skipped: Partial<Record<MethodId, string>> = {}
    const samples: Partial<Record<MethodId, Array<Sample>>> = {}
    const repetitions: Partial<Record<MethodId, number>> = {}
    // The target's ratio (imgpipe ÷ one decode) gets `minRepetitions` on a photo that weighs; the
    // other methods, compared for context and priced by the cost section, what the budget allows.
    const min = (id: MethodId) => (weighty.has(name) && TARGET_METHODS.has(id) ? options.minRepetitions : 1)
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
        repetitions[method.id] = repetitionsFor(first.cpuMs, budget, min(method.id), magickMethod ? 3 : 6)
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
    const probeMs = await probeCpuMs(() => Effect.runPromise(Effect.either(resizer.probe(bytes))), 5)
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
      .map((m) => `${m.id} ${byMethod[m.id]?.cpuMs.toFixed(0)}×${byMethod[m.id]?.repetitions}`)
      .join(", ")
    progress(`resize: ${name} [${mixesOfFile(name).join(", ")}] (CPU ms per image × samples): ${summary}`)
    return {
      name,
      inputBytes: bytes.byteLength,
      width: metadata.autoOrient.width,
      height: metadata.autoOrient.height,
      probeMs,
      byMethod,
      skipped
    }
  }

  /** What the service does with an upload it must refuse: the header read, and its answer. */
  const refuse = async (entry: MixEntry): Promise<Refusal> => {
    const bytes = readFileSync(join(fixturesDir, entry.name))
    const answer = await Effect.runPromise(Effect.either(resizer.probe(bytes)))
    const code = answer._tag === "Left" ? answer.left.code : undefined
    const probeMs = await probeCpuMs(() => Effect.runPromise(Effect.either(resizer.probe(bytes))), 5)
    progress(
      `resize: ${entry.name} declared ${entry.contentType ?? "as its extension says"}: ` +
        `${code === undefined ? "ACCEPTED" : `refused ${code}`} (expected ${entry.refused}) in ${
          probeMs.toFixed(1)
        } CPU ms`
    )
    return {
      name: entry.name,
      weight: entry.weight,
      declared: entry.contentType ?? contentTypeOf(entry.name),
      expected: entry.refused ?? "",
      code,
      probeMs
    }
  }

  const mixes: Array<ResizeMix> = []
  try {
    // Codec and module start-up happen once per process, not per image: one untimed round first.
    if (available.has(WARM_UP_PHOTO)) {
      const bytes = readFileSync(join(fixturesDir, WARM_UP_PHOTO))
      for (const method of METHODS) await runs[method.id]?.(bytes).catch(() => 0)
    }
    for (const mix of options.mixes) {
      const photos: Array<PhotoResult> = []
      const refused: Array<Refusal> = []
      for (const entry of mix.entries) {
        if (!available.has(entry.name)) {
          progress(`resize: ${entry.name} (${mix.name} mix) is not in the fixtures; skipped`)
          continue
        }
        if (entry.refused !== undefined) {
          refused.push(await refuse(entry))
          continue
        }
        let photo = measured.get(entry.name)
        if (photo === undefined) {
          photo = await measurePhoto(entry.name)
          measured.set(entry.name, photo)
        }
        photos.push({ ...photo, weight: entry.weight })
      }
      mixes.push({ name: mix.name, photos, refused })
    }
  } finally {
    removeDir(scratch)
  }
  return {
    photos: mixes.find((m) => m.name === "photos")?.photos ?? mixes[0]?.photos ?? [],
    mixes,
    sizes: settings.sizes,
    imagemagick: magick.version,
    imagemagickMissing: magick.missing
  }
}
