/**
 * EventBridge schedules for `start:aws-local`: invokes a function with a `Scheduled Event` every
 * period, as an `sst.aws.Cron` rule does in AWS (the first run one period after start). A failed
 * invocation is logged and the next tick runs as usual (EventBridge's own retries are not
 * emulated: the next tick is the retry).
 */
import { Duration, Effect, Schedule, type Scope } from "effect"
import type { ScheduledEvent } from "../reconcile.js"
import { invoke, type LambdaFunction } from "./event-sources.js"

export interface ScheduleOptions {
  readonly functionName: string
  readonly region: string
  readonly every: Duration.Duration
  readonly timeoutMs: number
}

/** The event EventBridge sends for a scheduled rule's tick. */
export const scheduledEvent = (
  options: { readonly functionName: string; readonly region: string },
  time: Date
): ScheduledEvent => ({
  version: "0",
  id: crypto.randomUUID(),
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "000000000000",
  time: time.toISOString(),
  region: options.region,
  resources: [`arn:aws:events:${options.region}:000000000000:rule/${options.functionName}`],
  detail: {}
})

/** Invokes `fn` every `options.every` until the scope closes; logs each result at debug, failures as warnings. */
export const runSchedule = <R>(
  fn: LambdaFunction<ScheduledEvent, R>,
  options: ScheduleOptions
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(
    Effect.forkScoped(
      Effect.suspend(() => invoke(fn, scheduledEvent(options, new Date()), options)).pipe(
        Effect.tap((result) =>
          Effect.logDebug("scheduled invocation done").pipe(Effect.annotateLogs({ result: JSON.stringify(result) }))
        ),
        Effect.catchAll((error) =>
          Effect.logWarning("scheduled invocation failed; the next tick runs as usual").pipe(
            Effect.annotateLogs({ error })
          )
        ),
        Effect.delay(options.every),
        Effect.repeat(Schedule.forever),
        Effect.annotateLogs({ function: options.functionName, every: Duration.format(options.every) })
      )
    )
  )
