/**
 * The resume sweep: uploads whose object is stored but whose image is still `awaiting_upload`
 * (the notification was lost to a stop, a crash or a database outage) are started as their
 * notification would have started them. It runs once at start, before the server takes requests,
 * and then every `IMGPIPE_RESUME_EVERY_SECONDS`, so an outage heals without a restart.
 */
import { findStoredUploads } from "@imgpipe/core"
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import { UploadNotifications } from "./notifications.js"

export const resumeEveryConfig: Config.Config<Duration.Duration> = Config.integer("IMGPIPE_RESUME_EVERY_SECONDS").pipe(
  Config.withDefault(60),
  Config.validate({
    message: "IMGPIPE_RESUME_EVERY_SECONDS must be a whole number of seconds, at least 1",
    validation: (n) => n >= 1
  }),
  Config.map(Duration.seconds)
)

/** Most uploads started per sweep; a longer backlog is worked off over the next sweeps. */
const SWEEP_LIMIT = 1000

const sweep = Effect.gen(function* () {
  const notifications = yield* UploadNotifications
  const found = yield* findStoredUploads(SWEEP_LIMIT)
  if (found.length === 0) return 0
  yield* notifications.deliver(found)
  return found.length
})

export const ResumeSweepLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const every = yield* resumeEveryConfig
    const resumed = yield* sweep.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("the start-up resume sweep failed; it runs again shortly", { error: String(error) }).pipe(Effect.as(0))
      )
    )
    if (resumed > 0) yield* Effect.logInfo(`resumed ${resumed} upload(s) whose processing had not started`)
    const periodic = sweep.pipe(
      Effect.tap((n) => (n > 0 ? Effect.logInfo(`resume sweep: started ${n} stored upload(s) that were awaiting processing`) : Effect.void)),
      Effect.catchAll((error) => Effect.logWarning("resume sweep failed; next try in one period", { error: String(error) }))
    )
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(periodic, every), Schedule.forever))
  })
)
