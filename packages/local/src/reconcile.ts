/**
 * The embedded runner's reconciler: the core `reconcile` use case (stalled processing re-sent once
 * then failed, uploads that never arrived expired) every `IMGPIPE_RECONCILE_EVERY_SECONDS`, in the
 * background, as the scheduled `Reconcile` function runs it in AWS. A failed run is logged and the
 * next period tries again; it never stops the runner.
 *
 * The stalled images' claim and their re-sent jobs commit together: the queue is the same
 * database (`ReconcileRepository.transaction`). An image whose jobs are still in the `jobs` table
 * is a backlog, not a stall, however old.
 */
import { reconcile, reconcileEveryConfig } from "@imgpipe/core"
import { Cause, Effect, Layer, Schedule } from "effect"

/**
 * One run. The use case logs what it changed (`reconcile: done` with the counts, at Info when it
 * changed anything); a failure (database unreachable) is a warning here, not an exit. A run is
 * uninterruptible (it is short and bounded), as the upload notifications' transactions are: a stop
 * never leaves a statement half-answered on the embedded database's one connection; the wait
 * between runs stays interruptible.
 */
export const reconcileOnce = Effect.uninterruptible(reconcile).pipe(
  Effect.asVoid,
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.interrupt
      : Effect.logWarning("reconcile failed; it runs again in one period", { error: Cause.pretty(cause) })
  )
)

export const ReconcilerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const every = yield* reconcileEveryConfig
    // First run one period after start: the resume sweep and the workers go first.
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(reconcileOnce, every), Schedule.forever))
  })
)
