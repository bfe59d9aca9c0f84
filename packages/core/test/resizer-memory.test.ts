import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Fiber, Layer } from "effect"
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import sharp from "sharp"
import { SettingsLive } from "../src/config.js"
import type { InputFormat } from "../src/domain/formats.js"
import type { SizeBox } from "../src/domain/sizes.js"
import { decodeBudgetConfig, DecodeMemoryBudget, makeDecodeBudget, MIB } from "../src/resizer/memoryBudget.js"
import { estimateResizeBytes } from "../src/resizer/memoryEstimate.js"
import { estimateResizeMemory, SharpResizerLive, SharpResizerWithBudget } from "../src/resizer/SharpResizer.js"
import { Resizer } from "../src/services/Resizer.js"
import type { PeakRss } from "./support/peak-rss-child.js"

// Real sharp on real images: the decode memory budget (memoryBudget.ts) and its estimate
// (memoryEstimate.ts).

const fixturePath = (name: string) => join(import.meta.dirname, "fixtures/images", name)
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(name)))

const BOXES: ReadonlyArray<SizeBox> = [
  { width: 320, height: 320 },
  { width: 1024, height: 1024 },
  { width: 2048, height: 2048 }
]
const MAX_PIXELS = 50_000_000
/** How far apart VmRSS and VmHWM may read for the same memory (per-thread counters, 64-fault sync). */
const COUNTER_SKEW_BYTES = 4 * MIB

const configLayer = (env: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** The real resizer with the budget built from `IMGPIPE_DECODE_MEMORY_BUDGET_MB`, as runtimes do. */
const liveResizer = (env: Record<string, string>) =>
  SharpResizerLive.pipe(Layer.provide(SettingsLive), Layer.provide(configLayer(env)))

/** The real resizer on a budget of `mib` that the test can watch. */
const watchedResizer = (mib: number) => {
  const budget = Layer.effect(DecodeMemoryBudget, makeDecodeBudget(mib))
  return SharpResizerWithBudget.pipe(
    Layer.provideMerge(budget),
    Layer.provide(SettingsLive),
    Layer.provide(configLayer({}))
  )
}

// ---- the estimate ---------------------------------------------------------------------------------

describe("the decode memory estimate", () => {
  const FORMATS: ReadonlyArray<InputFormat> = ["jpeg", "png", "webp", "gif", "avif", "tiff"]

  it("grows with the pixels, the bands and the bytes per band, for every format and box", () => {
    for (const format of FORMATS) {
      for (const box of BOXES) {
        for (
          const [bands, depth] of [[1, "uchar"], [3, "uchar"], [4, "uchar"], [3, "ushort"], [4, "ushort"]] as const
        ) {
          let previous = 0
          // 4:3 images from 0.01 MP to 50 MP in small steps.
          for (let width = 100; width * width * 0.75 <= MAX_PIXELS; width = Math.ceil(width * 1.05)) {
            const height = Math.round(width * 0.75)
            const shape = { format, width, height, bands, depth, hasAlpha: bands === 4, inputBytes: 100_000 }
            const estimate = estimateResizeBytes(shape, box)
            expect(estimate, `${format} ${bands}×${depth} ${width}×${height} into ${box.width}`).toBeGreaterThanOrEqual(
              previous
            )
            previous = estimate
          }
        }
      }
    }
    const shape = {
      format: "png" as const,
      width: 4000,
      height: 3000,
      bands: 3,
      depth: "uchar",
      hasAlpha: false,
      inputBytes: 1
    }
    const estimate = (change: Partial<typeof shape>) => estimateResizeBytes({ ...shape, ...change }, BOXES[2]!)
    expect(estimate({ bands: 4 })).toBeGreaterThan(estimate({}))
    expect(estimate({ depth: "ushort" })).toBeGreaterThan(estimate({}))
    expect(estimate({ inputBytes: 10 * MIB })).toBeGreaterThan(estimate({}))
  })

  // A plain function: it was an Effect.gen returned to vitest's `it`, which never ran it.
  it("an AVIF of many pixels costs far more than a JPEG of the same pixels (no shrink-on-load)", () => {
    const shape = { width: 7000, height: 7000, bands: 3, depth: "uchar", hasAlpha: false, inputBytes: 1_500_000 }
    const avif = estimateResizeBytes({ ...shape, format: "avif" }, BOXES[0]!)
    const jpeg = estimateResizeBytes({ ...shape, format: "jpeg" }, BOXES[0]!)
    // Measured: 862 MiB above baseline for a 49 MP 8-bit AVIF, about 6 MiB for the JPEG.
    expect(avif).toBeGreaterThan(862 * MIB)
    expect(avif).toBeGreaterThan(5 * jpeg)
  })

  // One fresh process per fixture and size does what ProcessImage does; its peak RSS above its
  // own baseline must stay under the estimate the budget would take for it.
  const MEASURED = [
    "photo-6028x3391-bird-20mp.jpg",
    "grayscale-2560x1600.jpg",
    "cmyk-500x333-swop-icc.jpg",
    "alpha-2048x1536-rgba.png",
    "rgb16-290x442.png",
    "photo-1024x772.webp",
    "animated-370x285-10frames.gif",
    "photo-246x345.tiff",
    "photo-3024x4032-iphone-xs-p3.avif"
  ]
  const measure = async (file: string, box: SizeBox, formats: string): Promise<PeakRss> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "support/peak-rss-child.ts"),
        fixturePath(file),
        `${box.width}x${box.height}`,
        "1",
        "1000000",
        formats,
        formats === "" ? "" : "placeholder"
      ],
      { timeout: 120_000 }
    )
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as PeakRss
  }

  it("stays above the measured peak of every fixture format and size (one child process each)", async () => {
    // The large size (the biggest encode, the least shrink-on-load) of each, and the small size of
    // the 20 MP JPEG (the deepest shrink-on-load); then the large size with every extra format
    // (WebP, AVIF: the raw pixels held while the AVIF encoder runs) and the placeholder, opaque and
    // with alpha. The machine is shared, keep it to a dozen processes.
    const queue = [
      ...MEASURED.map((file) => ({ file, box: BOXES[2]!, formats: "" })),
      { file: MEASURED[0]!, box: BOXES[0]!, formats: "" },
      { file: MEASURED[0]!, box: BOXES[2]!, formats: "webp,avif" },
      { file: "alpha-2048x1536-rgba.png", box: BOXES[2]!, formats: "webp,avif" }
    ]
    const measured: Array<{ label: string; file: string; box: SizeBox; formats: string; above: number }> = []
    // Two at a time: each child measures only its own process.
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const m = await measure(next.file, next.box, next.formats)
        const above = m.peakBytes - m.baselineBytes
        const label = `${next.file} into ${next.box.width} [${next.formats}]: ${JSON.stringify(m)}`
        expect(m.estimateBytes, label).toBeGreaterThanOrEqual(above)
        // The kernel's RSS counters are per-thread and synced lazily, so VmHWM may read a little
        // under an earlier VmRSS when the work itself adds next to nothing (a 320 box
        // shrink-on-load): allow that skew, no more.
        expect(m.peakBytes, label).toBeGreaterThan(m.baselineBytes - COUNTER_SKEW_BYTES)
        measured.push({ label, file: next.file, box: next.box, formats: next.formats, above })
      }
    }
    await Promise.all([worker(), worker()])
    expect(measured).toHaveLength(MEASURED.length + 3)
    // The measurement measured something: decoding 20 MP for the large box (half-size
    // shrink-on-load, ~15 MB of pixels) shows in the high-water mark, and the AVIF encoder adds to
    // it (measured 37 → 78 MiB).
    const big = measured.find((m) => m.file === MEASURED[0] && m.box === BOXES[2] && m.formats === "")
    expect(big?.above, big?.label).toBeGreaterThan(8 * MIB)
    const extras = measured.find((m) => m.file === MEASURED[0] && m.box === BOXES[2] && m.formats !== "")
    expect(extras?.above, extras?.label).toBeGreaterThan((big?.above ?? 0) + 8 * MIB)
  }, 240_000)
})

// ---- the budget -------------------------------------------------------------------------------

describe("the decode memory budget", () => {
  /** A 7000×7000 PNG (49 MP, under the pixel limit) that compresses to a few hundred KB. */
  const bigPng = () =>
    sharp({ create: { width: 7000, height: 7000, channels: 3, background: "#336699" } })
      .png({ compressionLevel: 1 })
      .toBuffer()

  it.live("two decodes that fit only one at a time run one at a time, and both finish", () =>
    Effect.gen(function* () {
      const bytes = fixture("alpha-2048x1536-rgba.png")
      const box = BOXES[2]!
      const estimateMib = Math.ceil((yield* estimateResizeMemory(bytes, box, MAX_PIXELS)) / MIB)

      /** Resizes twice at once on a budget of `mib`; the most holders and waiters seen at once. */
      const race = (mib: number) =>
        Effect.gen(function* () {
          const resizer = yield* Resizer
          const budget = yield* DecodeMemoryBudget
          let holders = 0
          let waiting = 0
          const both = yield* Effect.fork(Effect.all([resizer.resize(bytes, box), resizer.resize(bytes, box)], {
            concurrency: 2
          }))
          while ((yield* Fiber.poll(both))._tag === "None") {
            const stats = yield* budget.stats
            holders = Math.max(holders, stats.holders)
            waiting = Math.max(waiting, stats.waiting)
            expect(stats.inUseMib).toBeLessThanOrEqual(mib)
            yield* Effect.sleep("2 millis")
          }
          const outputs = yield* Fiber.join(both)
          expect(outputs.map((o) => [o.format, o.width, o.height])).toEqual([["webp", 2048, 1536], [
            "webp",
            2048,
            1536
          ]])
          expect(yield* budget.stats).toMatchObject({ inUseMib: 0, holders: 0, waiting: 0 })
          return { holders, waiting }
        }).pipe(Effect.provide(watchedResizer(mib)))

      // Room for one but not two: the second waits for the first.
      expect(yield* race(estimateMib + estimateMib - 1)).toEqual({ holders: 1, waiting: 1 })
      // Room for both: they run together (so the check above can tell the difference).
      expect((yield* race(2 * estimateMib)).holders).toBe(2)
    }), 60_000)

  it.effect("first come, first served: a small request does not pass a large one that waits", () =>
    Effect.gen(function* () {
      const budget = yield* makeDecodeBudget(100)
      const order: Array<string> = []
      const hold = (name: string, mib: number, until: Deferred.Deferred<void>) =>
        budget.withReservation(mib)(Effect.sync(() => order.push(name)).pipe(Effect.zipRight(Deferred.await(until))))
      const releaseA = yield* Deferred.make<void>()
      const releaseB = yield* Deferred.make<void>()
      const releaseC = yield* Deferred.make<void>()
      const a = yield* Effect.fork(hold("a", 60, releaseA))
      yield* Effect.yieldNow()
      const b = yield* Effect.fork(hold("b", 80, releaseB))
      yield* Effect.yieldNow()
      // 40 MiB are free, enough for c, but b came first.
      const c = yield* Effect.fork(hold("c", 10, releaseC))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(order).toEqual(["a"])
      expect(yield* budget.stats).toMatchObject({ inUseMib: 60, holders: 1, waiting: 2 })
      yield* Deferred.succeed(releaseA, undefined)
      yield* Fiber.join(a)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(order).toEqual(["a", "b", "c"])
      expect(yield* budget.stats).toMatchObject({ inUseMib: 90, holders: 2, waiting: 0 })
      // A waiter interrupted gives up its place; nothing stays taken.
      const d = yield* Effect.fork(hold("d", 50, releaseC))
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      yield* Fiber.interrupt(d)
      yield* Deferred.succeed(releaseB, undefined)
      yield* Deferred.succeed(releaseC, undefined)
      yield* Fiber.join(b)
      yield* Fiber.join(c)
      expect(yield* budget.stats).toMatchObject({ inUseMib: 0, holders: 0, waiting: 0 })
      expect(order).toEqual(["a", "b", "c"])
    }))

  it.effect(
    "an image over the whole budget is refused, from the header, before any decode",
    () =>
      Effect.gen(function* () {
        const resizer = yield* Resizer
        const budget = yield* DecodeMemoryBudget
        const bytes = new Uint8Array(yield* Effect.promise(bigPng))
        const error = yield* Effect.flip(resizer.resize(bytes, BOXES[0]!))
        expect(error).toMatchObject({ _tag: "InvalidImage", code: "too_large_to_decode" })
        expect(error.message).toMatch(
          /PNG image \(7000×7000\) would need about \d+ MiB to decode, more than the 64 MiB/
        )
        // Only the first 2 KB (signature and IHDR, no pixel data): refused the same way, not as a
        // corrupt image, so nothing was decoded; and the budget was never taken.
        const headerOnly = yield* Effect.flip(resizer.resize(bytes.subarray(0, 2048), BOXES[0]!))
        expect(headerOnly.code).toBe("too_large_to_decode")
        expect(yield* budget.stats).toMatchObject({ capacityMib: 64, inUseMib: 0, holders: 0 })
        // The header read alone (probe) still accepts it: only the decode is over budget.
        expect((yield* resizer.probe(bytes)).width).toBe(7000)
        // A small image still goes through on the same budget.
        expect((yield* resizer.resize(fixture("photo-1024x772.webp"), BOXES[0]!)).width).toBe(320)
      }).pipe(Effect.provide(watchedResizer(64))),
    60_000
  )

  it.effect("IMGPIPE_DECODE_MEMORY_BUDGET_MB sizes the budget of SharpResizerLive", () =>
    Effect.gen(function* () {
      const bytes = new Uint8Array(yield* Effect.promise(bigPng))
      const refused = yield* Effect.flip(
        Effect.flatMap(Resizer, (r) => r.resize(bytes, BOXES[0]!)).pipe(
          Effect.provide(liveResizer({ IMGPIPE_DECODE_MEMORY_BUDGET_MB: "64" }))
        )
      )
      expect(refused).toMatchObject({ _tag: "InvalidImage", code: "too_large_to_decode" })
      const made = yield* Effect.flatMap(Resizer, (r) => r.resize(bytes, BOXES[0]!)).pipe(
        Effect.provide(liveResizer({ IMGPIPE_DECODE_MEMORY_BUDGET_MB: "400" }))
      )
      expect(made.width).toBe(320)
    }), 60_000)

  it.effect("the budget's setting: explicit, from the Lambda's memory, a default, and clear errors", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        decodeBudgetConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      expect(yield* read({})).toBe(1024)
      expect(yield* read({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "2048" })).toBe(1792)
      expect(yield* read({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "2048", IMGPIPE_DECODE_MEMORY_BUDGET_MB: "1500" })).toBe(
        1500
      )
      for (const bad of ["0", "-5", "lots", "1.5"]) {
        const error = yield* Effect.flip(read({ IMGPIPE_DECODE_MEMORY_BUDGET_MB: bad }))
        expect(String(error)).toContain("IMGPIPE_DECODE_MEMORY_BUDGET_MB")
      }
    }))
})
