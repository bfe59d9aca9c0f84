import {
  IMAGE_SIZES,
  type ImageSize,
  maxReceivesConfig,
  processImage,
  type ProcessOutcome,
  renditionOutcomeLabel,
  Settings,
  visibilityTimeoutSecondsConfig
} from "@imgpipe/core"
import { LocalQueue, type ReceivedJob } from "@imgpipe/core/local/LocalQueue"
import { recordRendition, timed } from "@imgpipe/core/observability/metrics"
import { withTraceparent } from "@imgpipe/core/observability/traceContext"
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import { WorkerGate, WorkerGateLive } from "./priority.js"

/** How the embedded workers drain the queues: the local stand-in for Lambda's event source mapping. */
export interface WorkerOptions {
  /** Jobs processed at once per size queue. */
  readonly concurrency: number
  /** How long a received job stays invisible to other receivers (SQS's visibility timeout). */
  readonly visibilityTimeoutSeconds: number
  /** Deliveries before a job moves to the dead-letter table (the spec's redrive: 3). */
  readonly maxReceives: number
  /** A failed job becomes visible again after this long (SQS would wait out the visibility timeout). */
  readonly retryDelaySeconds: number
  /** Wait between polls of an empty queue. */
  readonly idlePollMillis: number
}

export const workerOptionsConfig: Config.Config<WorkerOptions> = Config.all({
  concurrency: Config.integer("IMGPIPE_WORKER_CONCURRENCY").pipe(Config.withDefault(1)),
  visibilityTimeoutSeconds: visibilityTimeoutSecondsConfig(60),
  maxReceives: maxReceivesConfig,
  retryDelaySeconds: Config.integer("IMGPIPE_RETRY_DELAY_SECONDS").pipe(Config.withDefault(5)),
  idlePollMillis: Config.integer("IMGPIPE_IDLE_POLL_MS").pipe(Config.withDefault(200))
})

/**
 * Runs one received job through the same use case the ProcessImage Lambda runs, then acks or
 * retries. The job's span continues the trace of the request that started the image (the job
 * row's `traceparent`); the outcome and time go to `imgpipe_renditions_total` and
 * `imgpipe_resize_duration_seconds`.
 */
const handleJob = (job: ReceivedJob, options: WorkerOptions) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    const [outcome, seconds] = yield* timed(processImage({
      job: job.body,
      receiveCount: job.receiveCount,
      maxReceives: options.maxReceives
    })).pipe(
      Effect.tapErrorTag("TransientFailure", () => recordRendition({ size: job.size, outcome: "retry", seconds: 0 }))
    )
    yield* recordRendition({ size: job.size, outcome: renditionOutcomeLabel(outcome), seconds })
    yield* queue.delete(job.id)
    return outcome
  }).pipe(
    Effect.withSpan("ProcessImage", {
      kind: "consumer",
      attributes: {
        "imgpipe.image_id": job.body.image_id,
        "imgpipe.size": job.size,
        "imgpipe.receive_count": job.receiveCount
      }
    }),
    withTraceparent(job.traceparent),
    Effect.catchTag("TransientFailure", (failure) =>
      Effect.flatMap(LocalQueue, (queue) =>
        queue.changeVisibility(job.id, { delaySeconds: options.retryDelaySeconds, error: failure.message }))),
    // Stopping mid-job: hand the job back at once rather than wait out its visibility timeout.
    Effect.onInterrupt(() =>
      Effect.flatMap(LocalQueue, (queue) =>
        queue.changeVisibility(job.id, { delaySeconds: 0 })).pipe(Effect.ignore)
    ),
    Effect.catchAllCause((cause) =>
      recordRendition({ size: job.size, outcome: "failed", seconds: 0 }).pipe(
        Effect.zipRight(Effect.logError("worker could not settle a job", cause))
      )
    )
  )

/** Polls one size queue for ever: receive up to `concurrency` jobs, run them, repeat. */
const drain = (size: ImageSize, options: WorkerOptions) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    yield* Effect.flatMap(WorkerGate, (gate) => gate.awaitTurn)
    const jobs = yield* queue.receive(size, {
      max: options.concurrency,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      maxReceives: options.maxReceives
    })
    if (jobs.length === 0) {
      yield* Effect.sleep(Duration.millis(options.idlePollMillis))
      return
    }
    yield* Effect.forEach(jobs, (job) => handleJob(job, options), { concurrency: "unbounded", discard: true })
  }).pipe(
    // A database hiccup must not end the worker: log, back off, poll again.
    Effect.catchAllCause((cause) =>
      Effect.logWarning("queue poll failed", cause).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))))
    ),
    Effect.repeat(Schedule.forever),
    Effect.annotateLogs({ queue: size }),
    Effect.asVoid
  )

/**
 * One poller per size queue, running until the layer's scope closes (SIGTERM/SIGINT). Each waits
 * for its turn (`WorkerGate`) before taking a job, so requests come first.
 */
export const WorkersLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const options = yield* workerOptionsConfig
    yield* Settings // fail fast on bad settings before any job is taken
    yield* Effect.addFinalizer(() => Effect.logInfo("workers stopped"))
    yield* Effect.forEach(IMAGE_SIZES, (size) => Effect.forkScoped(drain(size, options)), { discard: true })
    yield* Effect.logInfo("workers started").pipe(
      Effect.annotateLogs({
        concurrency_per_queue: options.concurrency,
        visibility_timeout_s: options.visibilityTimeoutSeconds
      })
    )
  })
).pipe(Layer.provide(WorkerGateLive))

export type { ProcessOutcome }
