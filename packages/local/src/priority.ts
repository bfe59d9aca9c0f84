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
import { Config, Context, Duration, Effect, Layer, Ref, Schedule } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { setPriority } from "node:os"
import { performance } from "node:perf_hooks"

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

// ---- the queue workers yield to requests --------------------------------------------------------

/**
 * The database side of the same rule. The embedded database has one connection, and a query
 * holds it until the JavaScript thread has read the answer; when that thread is saturated by
 * requests, every worker query lengthens the wait of every request behind it. So before taking a
 * job a worker looks at how busy the thread was over the last quarter second (its event-loop
 * utilisation); above `IMGPIPE_WORKER_YIELD_ELU` it waits, but never longer than
 * `IMGPIPE_WORKER_MAX_DEFER_MS` at a time, so processing still advances under sustained load,
 * just slower. In AWS none of this applies: the Lambda workers share nothing with the API.
 */
export interface WorkerGateOptions {
  /** Event-loop utilisation (0–1) above which workers wait; 1 turns the gate off. */
  readonly yieldAbove: number
  /** Longest a worker waits for a quieter moment before it takes a job anyway. */
  readonly maxDefer: Duration.Duration
}

export const workerGateConfig: Config.Config<WorkerGateOptions> = Config.all({
  yieldAbove: Config.number("IMGPIPE_WORKER_YIELD_ELU").pipe(
    Config.withDefault(0.6),
    Config.validate({
      message: "IMGPIPE_WORKER_YIELD_ELU must be between 0 and 1",
      validation: (n) => n >= 0 && n <= 1
    })
  ),
  maxDefer: Config.integer("IMGPIPE_WORKER_MAX_DEFER_MS").pipe(Config.withDefault(2000), Config.map(Duration.millis))
})

const SAMPLE_EVERY = Duration.millis(250)

export class WorkerGate extends Context.Tag("imgpipe/local/WorkerGate")<
  WorkerGate,
  {
    /** Completes when a worker may take its next job (at once when requests leave room). */
    readonly awaitTurn: Effect.Effect<void>
  }
>() {}

export const WorkerGateLive = Layer.scoped(
  WorkerGate,
  Effect.gen(function* () {
    const options = yield* workerGateConfig
    if (options.yieldAbove >= 1) return { awaitTurn: Effect.void }
    const busy = yield* Ref.make(0)
    let last = performance.eventLoopUtilization()
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.flatMap(
          Effect.sync(() => {
            const now = performance.eventLoopUtilization()
            const window = performance.eventLoopUtilization(now, last)
            last = now
            return window.utilization
          }),
          (utilization) => Ref.set(busy, utilization)
        ),
        Schedule.spaced(SAMPLE_EVERY)
      )
    )
    const quiet = Effect.map(Ref.get(busy), (utilization) => utilization <= options.yieldAbove)
    const waitForQuiet = Effect.repeat(Effect.sleep(SAMPLE_EVERY).pipe(Effect.zipRight(quiet)), {
      until: (isQuiet) => isQuiet
    })
    return {
      awaitTurn: Effect.flatMap(
        quiet,
        (isQuiet) => isQuiet ? Effect.void : waitForQuiet.pipe(Effect.timeoutOption(options.maxDefer), Effect.asVoid)
      )
    }
  })
)
