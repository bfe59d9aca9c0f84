/**
 * One format set, in a fresh Node process (`node --import tsx child.ts '<job JSON>'`, started by
 * formats.ts with `IMGPIPE_FORMATS` set and ProcessImage's allocator and libvips settings): the
 * Resizer as ProcessImage builds it, and for every photo of the mix its three jobs as the queues run
 * them (`probe`, then `resize(bytes, box, { formats: settings.formats, placeholder })`, the
 * placeholder in the smallest size's job). CPU is this process's (`process.cpuUsage`: the JS thread
 * and libuv's pool, where sharp encodes); peak memory its VmHWM. Prints progress lines, then one
 * JSON line (a FormatSetRun).
 */
import { type ImageSize, settingsConfig, worthStoring } from "@imgpipe/core"
import { DEFAULT_DECODE_BUDGET_MIB, makeDecodeBudget, MIB } from "@imgpipe/core/resizer/memoryBudget"
import { configureSharp, makeSharpResizer } from "@imgpipe/core/resizer/SharpResizer"
import { Effect, Option } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fixturesDir, median, type MixEntry } from "../util.js"
import type { FormatPhoto, FormatSetId, FormatSetRun, SizeOutput } from "./model.js"

export interface ChildJob {
  readonly set: FormatSetId
  readonly mix: ReadonlyArray<MixEntry>
  /** CPU ms to spend per photo; repetitions follow from the first (at most `maxRepetitions`). */
  readonly budgetMs: number
  readonly maxRepetitions: number
}

const status = (field: "VmRSS" | "VmHWM"): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))
  return (Number(match?.[1] ?? Number.NaN) * 1024) / MIB
}

const line = (text: string) => process.stdout.write(`${text}\n`)

const WARM_UP_PHOTO = "photo-246x345.tiff"

const program = (job: ChildJob) =>
  Effect.gen(function* () {
    const started = Date.now()
    yield* configureSharp
    const settings = yield* settingsConfig
    const resizer = makeSharpResizer({
      maxPixels: settings.maxPixels,
      budget: yield* makeDecodeBudget(DEFAULT_DECODE_BUDGET_MIB)
    })
    const small = settings.sizeOrder[0]
    const jobs = (bytes: Uint8Array) =>
      Effect.forEach(settings.sizeOrder, (size: ImageSize) =>
        Effect.zipRight(
          resizer.probe(bytes),
          resizer.resize(bytes, settings.sizes[size], { formats: settings.formats, placeholder: size === small })
        ).pipe(Effect.map((out) => ({ size, out }))))
    const timed = (bytes: Uint8Array) =>
      Effect.gen(function* () {
        const cpu = process.cpuUsage()
        const outs = yield* jobs(bytes)
        const used = process.cpuUsage(cpu)
        return { cpuMs: (used.user + used.system) / 1000, outs }
      })

    // Codec start-up happens once per process: one untimed round, then the resident baseline.
    const warmUp = join(fixturesDir, WARM_UP_PHOTO)
    if (existsSync(warmUp)) yield* Effect.either(jobs(readFileSync(warmUp)))
    const baselineRssMib = status("VmRSS")

    const photos: Array<FormatPhoto> = []
    const skipped: Array<{ name: string; reason: string }> = []
    for (const entry of job.mix) {
      const path = join(fixturesDir, entry.name)
      if (!existsSync(path)) {
        skipped.push({ name: entry.name, reason: "not in the fixtures" })
        continue
      }
      const bytes = readFileSync(path)
      const first = yield* Effect.either(timed(bytes))
      if (first._tag === "Left") {
        skipped.push({ name: entry.name, reason: `${first.left.code}: ${first.left.message}` })
        continue
      }
      const repetitions = Math.min(
        job.maxRepetitions,
        Math.max(1, Math.ceil(job.budgetMs / Math.max(1, first.right.cpuMs)))
      )
      const samples = [first.right.cpuMs]
      for (let i = 1; i < repetitions; i++) samples.push((yield* timed(bytes)).cpuMs)
      const sizes: Array<SizeOutput> = first.right.outs.map(({ out, size }) => ({
        size,
        width: out.width,
        height: out.height,
        baseline: { format: out.format, bytes: out.data.byteLength },
        // What processImage stores: the extras worth storing (smaller than what a client would get otherwise).
        variants: worthStoring(out.data.byteLength, out.variants).map((v) => ({
          format: v.format,
          bytes: v.data.byteLength
        }))
      }))
      const photo: FormatPhoto = {
        name: entry.name,
        weight: entry.weight,
        cpuMs: median(samples),
        repetitions,
        sizes,
        placeholder: first.right.outs.some(({ out }) => Option.isSome(out.placeholder))
      }
      const bytesText = sizes
        .map((s) => `${s.size} ${[s.baseline, ...s.variants].map((e) => `${e.format} ${e.bytes}`).join("/")}`)
        .join(", ")
      line(`${entry.name}: ${photo.cpuMs.toFixed(0)} CPU ms (×${repetitions}); ${bytesText}`)
      photos.push(photo)
    }
    const run: FormatSetRun = {
      set: job.set,
      formats: settings.formats,
      photos,
      skipped,
      baselineRssMib,
      peakRssMib: status("VmHWM"),
      seconds: (Date.now() - started) / 1000
    }
    return run
  })

const job = JSON.parse(process.argv[2] ?? "{}") as ChildJob
Effect.runPromise(Effect.either(program(job))).then(
  (result) => line(JSON.stringify(result._tag === "Right" ? result.right : { error: String(result.left) })),
  (error: unknown) => line(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
)
