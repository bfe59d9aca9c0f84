/**
 * The resume sweep: uploads whose object is stored but whose image is still `awaiting_upload`
 * (the notification was lost to a stop, a crash or a database outage) are started as their
 * notification would have started them. It runs once at start and then every
 * `IMGPIPE_RESUME_EVERY_SECONDS`, so an outage heals without a restart.
 */
import { findStoredUploads, secondsConfig } from "@imgpipe/core"
import { Effect, Layer, Schedule } from "effect"
import { UploadNotifications } from "./notifications.js"

export const resumeEveryConfig = secondsConfig("IMGPIPE_RESUME_EVERY_SECONDS", { fallback: 60, min: 1 })

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
    const once = (first: boolean) =>
      sweep.pipe(
        Effect.tap((n) =>
          n === 0
            ? Effect.void
            : Effect.logInfo(
              first
                ? `resumed ${n} upload(s) whose processing had not started`
                : `resume sweep: started ${n} stored upload(s) that were still awaiting processing`
            )
        ),
        Effect.catchAll((error) =>
          Effect.logWarning("resume sweep failed; it runs again in one period", { error: String(error) })
        )
      )
    // In the background: a start is never held up by the sweep (whose deliveries wait for the
    // database as long as it takes).
    yield* Effect.forkScoped(
      once(true).pipe(Effect.zipRight(Effect.repeat(Effect.delay(once(false), every), Schedule.forever)))
    )
  })
)
