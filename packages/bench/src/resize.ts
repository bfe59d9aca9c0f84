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
import { settingsConfig, type SizeBox, type SizeBoxes } from "@imgpipe/core"
import { DEFAULT_DECODE_BUDGET_MIB, makeDecodeBudget } from "@imgpipe/core/resizer/memoryBudget"
import { JPEG_OPTIONS, makeSharpResizer, WEBP_OPTIONS } from "@imgpipe/core/resizer/SharpResizer"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { fixturesDir, median, type MixEntry, progress, removeDir, tempDir, tryRun, which } from "./util.js"

export type MethodId = "imgpipe" | "naive" | "oneDecode" | "imagemagick" | "imagemagickNaive" | "fromLarge"

export interface MethodInfo {
  readonly id: MethodId
  readonly label: string
  readonly description: string
  /** A variant measured to size a proposed change, not something the code does today. */
  readonly proposal: boolean
}

export const METHODS: ReadonlyArray<MethodInfo> = [
  {
    id: "imgpipe",
    label: "imgpipe ProcessImage (per-size jobs)",
    description:
      "three jobs, as the queues run them: each does `Resizer.probe` then `Resizer.resize` (header read, decode with shrink-on-load, auto-orient, sRGB, mozjpeg-style progressive JPEG / WebP)",
    proposal: false
  },
  {
    id: "naive",
    label: "naive sharp loop",
    description: "`sharp(input).rotate().resize(box, inside, no enlargement)` per size, default encoder settings (JPEG q80 baseline / WebP q80)",
    proposal: false
  },
  {
    id: "oneDecode",
    label: "sharp, one decode for all sizes",
    description:
      "one decode to raw pixels at the large size (shrink-on-load, auto-orient, sRGB), then the three sizes resized and encoded from those pixels with imgpipe's encoder settings",
    proposal: false
  },
  {
    id: "imagemagick",
    label: "ImageMagick convert (1 thread)",
    description:
      "one `convert` per image, one decode (`+clone … -write`), JPEG shrink-on-load hint (`-define jpeg:size`), `-auto-orient -strip`, q80 progressive JPEG / WebP",
    proposal: false
  },
  {
    id: "imagemagickNaive",
    label: "ImageMagick, one convert per size",
    description: "`convert input -auto-orient -strip -resize WxH> -quality 80 out` once per size (1 thread), as a shell script would",
    proposal: false
  },
  {
    id: "fromLarge",
    label: "proposal: medium/small from the large rendition",
    description:
      "the large job as today; the medium and small jobs resize the stored large rendition (≤ 2048 px JPEG/WebP) instead of the original, through the same Resizer",
    proposal: true
  }
]

export interface Measurement {
  /** Median CPU milliseconds for the three outputs of one image. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly outputBytes: number
  readonly repetitions: number
}

export interface PhotoResult {
  readonly name: string
  readonly weight: number
  readonly inputBytes: number
  readonly width: number
  readonly height: number
  /** CPU ms of one `Resizer.probe` (header read and checks). */
  readonly probeMs: number
  readonly byMethod: Partial<Record<MethodId, Measurement>>
  /** Why a method has no measurement for this photo. */
  readonly skipped: Partial<Record<MethodId, string>>
}

export interface ResizeSection {
  readonly photos: ReadonlyArray<PhotoResult>
  readonly sizes: SizeBoxes
  readonly imagemagick: string | undefined
  readonly imagemagickMissing: string | undefined
}

// The one-decode baseline uses imgpipe's own encoder settings (imported above): the comparison
// only means something when every contender produces the same outputs.

const ORDER = ["large", "medium", "small"] as const

// ---- the methods ------------------------------------------------------------------------------

type Run = (bytes: Buffer) => Promise<number>

const makeRuns = (sizes: SizeBoxes, maxPixels: number, magick: string | undefined, scratch: string): Record<MethodId, Run | undefined> => {
  const resizer = makeSharpResizer({ maxPixels, budget: Effect.runSync(makeDecodeBudget(DEFAULT_DECODE_BUDGET_MIB)) })
  const job = (bytes: Uint8Array, box: SizeBox) =>
    Effect.runPromise(Effect.zipRight(resizer.probe(bytes), resizer.resize(bytes, box)))

  const imgpipe: Run = async (bytes) => {
    let out = 0
    for (const size of ORDER) out += (await job(bytes, sizes[size])).data.byteLength
    return out
  }

  const fromLarge: Run = async (bytes) => {
    const large = await job(bytes, sizes.large)
    const medium = await job(large.data, sizes.medium)
    const small = await job(large.data, sizes.small)
    return large.data.byteLength + medium.data.byteLength + small.data.byteLength
  }

  const naive: Run = async (bytes) => {
    const { hasAlpha } = await sharp(bytes).metadata()
    let out = 0
    for (const size of ORDER) {
      const box = sizes[size]
      const data = await sharp(bytes)
        .rotate()
        .resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
        .toFormat(hasAlpha ? "webp" : "jpeg")
        .toBuffer()
      out += data.byteLength
    }
    return out
  }

  const oneDecode: Run = async (bytes) => {
    const metadata = await sharp(bytes, { failOn: "error", pages: 1 }).metadata()
    const grey = metadata.space === "b-w" || metadata.space === "grey16"
    const alpha = metadata.hasAlpha
    const decoded = sharp(bytes, { failOn: "error", sequentialRead: true, pages: 1, autoOrient: true })
      .resize({ width: sizes.large.width, height: sizes.large.height, fit: "inside", withoutEnlargement: true })
    const shaped = alpha ? decoded.ensureAlpha() : grey ? decoded.removeAlpha().toColourspace("b-w") : decoded.removeAlpha().toColourspace("srgb")
    const { data, info } = await shaped.raw().toBuffer({ resolveWithObject: true })
    const raw = { width: info.width, height: info.height, channels: info.channels }
    let out = 0
    for (const size of ORDER) {
      const box = sizes[size]
      const pipeline = sharp(data, { raw }).resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
      const encoded = alpha ? pipeline.webp(WEBP_OPTIONS) : pipeline.jpeg(JPEG_OPTIONS)
      out += (await encoded.toBuffer()).byteLength
    }
    return out
  }

  return {
    imgpipe,
    naive,
    oneDecode,
    imagemagick: magick === undefined ? undefined : makeMagickRun(magick, sizes, scratch, "oneCommand"),
    imagemagickNaive: magick === undefined ? undefined : makeMagickRun(magick, sizes, scratch, "perSize"),
    fromLarge
  }
}

/** CPU ms of the last ImageMagick run, read from /usr/bin/time (a Run returns output bytes). */
let lastMagickCpuMs = 0

const execTimed = (magick: string, args: ReadonlyArray<string>, timeFile: string): Promise<number> => {
  const timeBin = which("/usr/bin/time")
  const [command, fullArgs] = timeBin === undefined
    ? [magick, [...args]]
    : [timeBin, ["-f", "%U %S", "-o", timeFile, magick, ...args]]
  const startedAt = performance.now()
  return new Promise((done, fail) => {
    execFile(command, fullArgs, { env: { ...process.env, MAGICK_THREAD_LIMIT: "1" } }, (error, _stdout, stderr) => {
      const wall = performance.now() - startedAt
      if (error !== null) {
        fail(new Error(`convert failed: ${stderr.trim().split("\n").at(-1) ?? error.message}`))
        return
      }
      if (timeBin === undefined) return done(wall)
      const [user, system] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number)
      removeDir(timeFile)
      done(((user ?? 0) + (system ?? 0)) * 1000)
    })
  })
}

/**
 * `oneCommand`: one process, one decode, the three outputs written from clones, with the JPEG
 * decoder's shrink-on-load hint — ImageMagick at its best. `perSize`: three plain commands.
 */
const makeMagickRun = (magick: string, sizes: SizeBoxes, scratch: string, style: "oneCommand" | "perSize"): Run => {
  let counter = 0
  return async (bytes) => {
    const n = counter++
    const input = join(scratch, `in-${style}-${n}`)
    // Outside the sharp methods' timing; convert is timed on its own CPU clock.
    writeFileSync(input, bytes)
    const metadata = await sharp(bytes).metadata()
    const alpha = metadata.hasAlpha
    const ext = alpha ? "webp" : "jpg"
    const encode = alpha ? ["-quality", "80", "-define", "webp:alpha-quality=100"] : ["-quality", "80", "-interlace", "Plane"]
    const box = (b: SizeBox) => `${b.width}x${b.height}>`
    const outputs = ORDER.map((size) => join(scratch, `out-${style}-${n}-${size}.${ext}`))
    const timeFile = join(scratch, `time-${style}-${n}`)
    let cpuMs = 0
    try {
      if (style === "perSize") {
        for (const [i, size] of ORDER.entries()) {
          cpuMs += await execTimed(magick, ["-limit", "thread", "1", `${input}[0]`, "-auto-orient", "-strip", "-depth", "8", "-resize", box(sizes[size]), ...encode, outputs[i] as string], timeFile)
        }
      } else {
        const [largeOut, mediumOut, smallOut] = outputs as [string, string, string]
        // JPEG shrink-on-load, as libvips does it: IM divides both stored dimensions by the largest
        // whole factor that keeps them at least this size, so asking for the large rendition's own
        // size decodes at 1/2…1/8 and never below it. (A hint larger than the image makes IM 6
        // scale up: 4096×4096 on a 6028×3391 photo decodes 12056×6782.)
        const scale = Math.min(1, sizes.large.width / metadata.width, sizes.large.height / metadata.height)
        const hint = metadata.format === "jpeg" && scale < 1
          ? ["-define", `jpeg:size=${Math.round(metadata.width * scale)}x${Math.round(metadata.height * scale)}`]
          : []
        cpuMs = await execTimed(magick, [
          "-limit", "thread", "1",
          ...hint,
          `${input}[0]`,
          "-auto-orient", "-strip", "-depth", "8",
          "(", "+clone", "-resize", box(sizes.large), ...encode, "-write", largeOut, "+delete", ")",
          "(", "+clone", "-resize", box(sizes.medium), ...encode, "-write", mediumOut, "+delete", ")",
          "-resize", box(sizes.small), ...encode, smallOut
        ], timeFile)
      }
      lastMagickCpuMs = cpuMs
      let out = 0
      for (const file of outputs) out += statSync(file).size
      return out
    } finally {
      for (const file of [input, ...outputs]) removeDir(file)
    }
  }
}

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
  const cpuMs = id === "imagemagick" || id === "imagemagickNaive" ? lastMagickCpuMs : (used.user + used.system) / 1000
  return { cpuMs, wallMs, bytes: out }
}

export const imagemagickVersion = (): { path: string | undefined; version: string | undefined; missing: string | undefined } => {
  // /usr/local/bin/convert may be a stand-in on some machines: prefer the real binary, and check
  // that whatever is found says it is ImageMagick.
  const candidates = ["/usr/bin/convert", "convert", "magick"]
  for (const candidate of candidates) {
    const path = which(candidate)
    if (path === undefined) continue
    const version = tryRun(path, ["-version"])?.split("\n")[0]
    if (version !== undefined && /ImageMagick/i.test(version)) return { path, version: version.replace(/^Version:\s*/, ""), missing: undefined }
  }
  return {
    path: undefined,
    version: undefined,
    missing: "ImageMagick's convert was not found: `apt-get install imagemagick` to include it"
  }
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

export interface MethodAggregate {
  /** Mix-weighted mean CPU ms per image over the photos every compared method measured. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly outputBytes: number
  readonly photos: number
}

/** Weighted means over the photos on which every method in `common` has a measurement. */
export const aggregate = (section: ResizeSection, common: ReadonlyArray<MethodId>): Partial<Record<MethodId, MethodAggregate>> => {
  const usable = section.photos.filter((p) => common.every((id) => p.byMethod[id] !== undefined))
  const totalWeight = usable.reduce((s, p) => s + p.weight, 0)
  const result: Partial<Record<MethodId, MethodAggregate>> = {}
  if (totalWeight === 0) return result
  for (const method of METHODS) {
    if (!usable.every((p) => p.byMethod[method.id] !== undefined)) continue
    const mean = (pick: (m: Measurement) => number) =>
      usable.reduce((s, p) => s + p.weight * pick(p.byMethod[method.id] as Measurement), 0) / totalWeight
    result[method.id] = { cpuMs: mean((m) => m.cpuMs), wallMs: mean((m) => m.wallMs), outputBytes: mean((m) => m.outputBytes), photos: usable.length }
  }
  return result
}
