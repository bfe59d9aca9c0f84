/** The reconciler's settings (usecases/reconcile.ts). */
import { Config, Context, type Duration, Layer } from "effect"
import { secondsConfig } from "./integers.js"

/**
 * `IMGPIPE_STALL_SECONDS`: a `processing` image with no progress this long is stalled (its missing
 * sizes are re-sent once; a second stall fails it).
 */
export const stallConfig = secondsConfig("IMGPIPE_STALL_SECONDS", { fallback: 900, min: 1 })

/** `IMGPIPE_EXPIRE_GRACE_SECONDS`: how long after its upload URL expired an `awaiting_upload` image expires. */
export const expireGraceConfig = secondsConfig("IMGPIPE_EXPIRE_GRACE_SECONDS", { fallback: 86_400, min: 0 })

/** `IMGPIPE_RECONCILE_EVERY_SECONDS`: the embedded runner's (and `start:aws-local`'s) reconcile period. */
export const reconcileEveryConfig = secondsConfig("IMGPIPE_RECONCILE_EVERY_SECONDS", { fallback: 300, min: 1 })

/** The reconciler's windows, read once when a runtime starts (a wrong value fails the start). */
export interface ReconcileSettingsShape {
  readonly stall: Duration.Duration
  readonly expireGrace: Duration.Duration
  /** Most rows of each kind (expired, stalled) one run changes; the rest waits for the next run. */
  readonly batchLimit: number
}

export class ReconcileSettings
  extends Context.Tag("imgpipe/ReconcileSettings")<ReconcileSettings, ReconcileSettingsShape>()
{}

/** Rows per kind per run: one bounded transaction of a few statements, a few thousand jobs at most. */
export const RECONCILE_BATCH_LIMIT = 500

export const reconcileSettingsConfig: Config.Config<ReconcileSettingsShape> = Config.all({
  stall: stallConfig,
  expireGrace: expireGraceConfig,
  batchLimit: Config.succeed(RECONCILE_BATCH_LIMIT)
})

export const ReconcileSettingsLive: Layer.Layer<ReconcileSettings, import("effect/ConfigError").ConfigError> = Layer
  .effect(
    ReconcileSettings,
    reconcileSettingsConfig
  )
