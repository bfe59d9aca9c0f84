/**
 * `bun run start`: the whole of imgpipe in one process on embedded defaults. Migrates the database,
 * then serves the API, runs the workers and the resume sweep (uploads whose notification was lost
 * are started at once and every `IMGPIPE_RESUME_EVERY_SECONDS`) until SIGINT/SIGTERM. A stop takes
 * no new work, hands in-flight jobs back, cuts requests still running after
 * `IMGPIPE_SHUTDOWN_GRACE_SECONDS`, closes the database and exits; a second signal exits at once
 * (see shutdown.ts). Start-up problems the user can fix are one line each (see startup.ts).
 */
import { NodeRuntime } from "@effect/platform-node"
import { LogLevelLive, shutdownGraceConfig } from "@imgpipe/core"
import { makeLogFormatLayer } from "@imgpipe/core/observability/logging"
import { makeTracingLayer } from "@imgpipe/core/observability/tracing"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { CoreLive, makeAppLive } from "./layers.js"
import { guardSignals } from "./shutdown.js"
import { announceBacklog, reportFailure } from "./startup.js"

const server = createServer()

const run = Effect.gen(function* () {
  const applied = yield* runMigrations
  if (applied.length > 0) yield* Effect.logInfo(`applied ${applied.length} migration(s)`)
  yield* announceBacklog
  return yield* Layer.launch(makeAppLive(server)).pipe(
    Effect.onInterrupt(() => Effect.logInfo("stopping: no new work; in-flight jobs are handed back to their queues"))
  )
}).pipe(Effect.provide(CoreLive))

const main = Effect.gen(function* () {
  // Outermost, so the deadline and the second-signal exit still hold while the database closes.
  yield* guardSignals(yield* shutdownGraceConfig)
  return yield* run
}).pipe(
  Effect.scoped,
  reportFailure,
  // Traces go to OTEL_EXPORTER_OTLP_ENDPOINT when set. Unset, the tracer is off: spans would only be
  // bookkeeping, several per request and per query, a measurable share of the one JavaScript thread.
  Effect.provide(Layer.mergeAll(LogLevelLive, makeLogFormatLayer("pretty"), makeTracingLayer("imgpipe-local")))
)

// Errors are reported by `reportFailure` (one line for what the user can fix), not as a stack trace.
NodeRuntime.runMain(main, { disableErrorReporting: true })
