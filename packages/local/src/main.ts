/**
 * `bun run start`: the whole of imgpipe in one process on embedded defaults. Migrates the database,
 * resumes uploads whose notification was lost, then serves the API and runs the workers until
 * SIGINT/SIGTERM, when it stops taking work, hands in-flight jobs back and closes everything.
 */
import { NodeRuntime } from "@effect/platform-node"
import { resumeUploads } from "@imgpipe/core"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { Effect, Layer, Logger } from "effect"
import { AppLive, CoreLive, logLevelConfig } from "./layers.js"

const main = Effect.gen(function* () {
  const applied = yield* runMigrations
  if (applied.length > 0) yield* Effect.logInfo(`applied ${applied.length} migration(s)`)
  const resumed = yield* resumeUploads()
  if (resumed > 0) yield* Effect.logInfo(`resumed ${resumed} upload(s) whose processing had not started`)
  return yield* Layer.launch(AppLive).pipe(
    Effect.onInterrupt(() => Effect.logInfo("stopping: no new work; in-flight jobs are handed back to their queues"))
  )
}).pipe(
  Effect.provide(CoreLive),
  (effect) => Effect.flatMap(logLevelConfig, (level) => Logger.withMinimumLogLevel(effect, level)),
  // No tracer is exported from the embedded runner, so spans would only be bookkeeping: several per
  // request and per query, a measurable share of the one JavaScript thread under load.
  (effect) => Effect.withTracerEnabled(effect, false)
)

NodeRuntime.runMain(main)
