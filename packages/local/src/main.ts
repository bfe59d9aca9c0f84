/**
 * `bun run start`: the whole of imgpipe in one process on embedded defaults. Migrates the database,
 * resumes uploads whose notification was lost, then serves the API and runs the workers until
 * SIGINT/SIGTERM, when it stops taking work, hands in-flight jobs back and closes everything.
 */
import { NodeRuntime } from "@effect/platform-node"
import { resumeUploads } from "@imgpipe/core"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { Config, Effect, Layer, Logger, LogLevel } from "effect"
import { AppLive, CoreLive } from "./layers.js"

const logLevel = Config.logLevel("IMGPIPE_LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))

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
  (effect) => Effect.flatMap(logLevel, (level) => Logger.withMinimumLogLevel(effect, level))
)

NodeRuntime.runMain(main)
