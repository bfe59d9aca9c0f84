/**
 * Requests before resizes. The embedded runner serves the API, the storage routes and the queue
 * workers from one process on however few cores the machine has. Uploads and reads have latency
 * budgets; resizes only have to catch up (their jobs wait durably in the queue tables). So the
 * threads that do the pixel work — libvips' worker threads, which decode, resize and encode every
 * rendition — run at a lower scheduling priority (a higher nice value) than the threads that answer
 * requests. When the cores are free the resizes use all of them; when requests need a core, the
 * scheduler hands it to them first.
 *
 * Linux only (thread ids and names from /proc/self/task); elsewhere this does nothing. libvips
 * starts its worker threads lazily and from several threads, so newly seen ones are reniced every
 * second. Raising the nice value needs no privilege, and nothing ever lowers it again.
 */
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { setPriority } from "node:os"

/** `IMGPIPE_RESIZE_NICE`: nice value for libvips' threads, 0 (off) to 19 (lowest priority). */
export const resizeNiceConfig = Config.integer("IMGPIPE_RESIZE_NICE").pipe(
  Config.withDefault(15),
  Config.validate({ message: "IMGPIPE_RESIZE_NICE must be between 0 and 19", validation: (n) => n >= 0 && n <= 19 })
)

const TASKS = "/proc/self/task"
const LIBVIPS_THREAD = "libvips worker"

/** Renices the libvips threads not seen before; returns how many were reniced this time. */
const makeSweep = (nice: number) => {
  const seen = new Set<number>()
  return Effect.sync(() => {
    let reniced = 0
    let tids: Array<number>
    try {
      tids = readdirSync(TASKS).map(Number)
    } catch {
      return 0
    }
    const alive = new Set(tids)
    for (const tid of seen) if (!alive.has(tid)) seen.delete(tid)
    for (const tid of tids) {
      if (seen.has(tid)) continue
      seen.add(tid)
      try {
        if (readFileSync(`${TASKS}/${tid}/comm`, "utf8").trim() !== LIBVIPS_THREAD) continue
        setPriority(tid, nice)
        reniced++
      } catch {
        // The thread ended between the listing and now.
      }
    }
    return reniced
  })
}

/** Keeps libvips' threads at `IMGPIPE_RESIZE_NICE` for the life of the layer (Linux only). */
export const ResizePriorityLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const nice = yield* resizeNiceConfig
    if (nice === 0 || process.platform !== "linux") return
    const sweep = makeSweep(nice)
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(Duration.seconds(1))))
    yield* Effect.logInfo("resizes run below requests").pipe(Effect.annotateLogs({ libvips_nice: nice }))
  })
)
