/**
 * One memory measurement, in a fresh Node process (`node --import tsx peak-rss-child.ts …`; the
 * resizer's memory tests and the bench's memory section run it): reads one image, then does what
 * ProcessImage does for each box named (`Resizer.probe`, then `Resizer.resize`), and prints one
 * JSON line: resident memory before the work (after a tiny warm-up resize, so libvips' start-up
 * counts as baseline), its peak (the kernel's high-water mark, VmHWM), and the largest estimate
 * the memory budget made for the boxes.
 *
 * argv: <image file> <box,box,…> (e.g. 320x320,2048x2048) [copies resized at once, default 1]
 * [decode budget in MiB, default: large enough for anything] [extra formats, e.g. webp,avif; default
 * none] [placeholder: "placeholder" to make it too]. With several boxes the later ones may
 * reuse or add to what glibc kept from the earlier ones (per-thread malloc arenas): measure one box
 * per process for the cost of one decode.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import type { ExtraFormat } from "../../src/domain/formats.js"
import { makeDecodeBudget } from "../../src/resizer/memoryBudget.js"
import { configureSharp, estimateResizeMemory, makeSharpResizer } from "../../src/resizer/SharpResizer.js"

const MAX_PIXELS = 50_000_000

export interface PeakRss {
  readonly baselineBytes: number
  readonly peakBytes: number
  readonly estimateBytes: number
  readonly ms: number
}

const status = (field: "VmRSS" | "VmHWM"): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))
  return Number(match?.[1] ?? Number.NaN) * 1024
}

const [file = "", boxes = "320x320", copiesText = "1", budgetText = "1000000", formatsText = "", placeholderText = ""] =
  process.argv.slice(2)
const options = {
  formats: formatsText.split(",").filter((format): format is ExtraFormat => format === "webp" || format === "avif"),
  placeholder: placeholderText === "placeholder"
}
const copies = Number(copiesText)
const sizes = boxes.split(",").map((box) => {
  const [width = 0, height = 0] = box.split("x").map(Number)
  return { width, height }
})

const program = Effect.gen(function* () {
  // As the runtimes start: cache off, IMGPIPE_SHARP_CONCURRENCY if set.
  yield* Effect.orDie(configureSharp)
  const resizer = makeSharpResizer({ maxPixels: MAX_PIXELS, budget: yield* makeDecodeBudget(Number(budgetText)) })
  const bytes = new Uint8Array(readFileSync(file))
  const estimates = yield* Effect.forEach(sizes, (box) => estimateResizeMemory(bytes, box, MAX_PIXELS, options))
  yield* Effect.promise(() =>
    sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).jpeg().toBuffer()
  )
  const baselineBytes = status("VmRSS")
  const started = Date.now()
  for (const box of sizes) {
    yield* Effect.forEach(
      Array.from({ length: copies }, () => box),
      (b) => Effect.zipRight(resizer.probe(bytes), resizer.resize(bytes, b, options)),
      { concurrency: "unbounded" }
    )
  }
  const result: PeakRss = {
    baselineBytes,
    peakBytes: status("VmHWM"),
    estimateBytes: Math.max(...estimates) * copies,
    ms: Date.now() - started
  }
  return result
})

void Effect.runPromise(Effect.either(program)).then((result) => {
  process.stdout.write(
    `${
      JSON.stringify(result._tag === "Right" ? result.right : { error: `${result.left.code}: ${result.left.message}` })
    }\n`
  )
})
