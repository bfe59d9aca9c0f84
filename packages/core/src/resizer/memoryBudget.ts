import { Config, type ConfigError, Context, Effect, Layer, Option } from "effect"

/*
 * The per-process memory budget for decodes.
 *
 * Every resize first estimates, from the header, how much memory its decode and encode will hold
 * (memoryEstimate.ts) and takes that many MiB from one weighted semaphore for the whole render.
 * What would not fit right now waits its turn, in arrival order; what could never fit, even alone,
 * is refused before any pixel is decoded. So the decodes running at once in a process never add up
 * to more than the budget, however many jobs the runtime hands the process.
 */

export const MIB = 1024 * 1024

export interface DecodeBudgetStats {
  /** The whole budget, MiB. */
  readonly capacityMib: number
  /** MiB held by the renders running now. */
  readonly inUseMib: number
  /** Renders holding a share of the budget now. */
  readonly holders: number
  /** Renders waiting for their share. */
  readonly waiting: number
}

export interface DecodeBudgetService {
  readonly capacityMib: number
  /**
   * Runs `effect` holding `mib` of the budget; waits (interruptibly, first come first served) until
   * that much is free. Call only with `mib <= capacityMib`: the resizer refuses larger images first.
   */
  readonly withReservation: (mib: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly stats: Effect.Effect<DecodeBudgetStats>
}

export class DecodeMemoryBudget extends Context.Tag("imgpipe/DecodeMemoryBudget")<
  DecodeMemoryBudget,
  DecodeBudgetService
>() {}

/** A budget of `capacityMib` MiB. */
export const makeDecodeBudget = (capacityMib: number): Effect.Effect<DecodeBudgetService> =>
  Effect.gen(function* () {
    const memory = yield* Effect.makeSemaphore(capacityMib)
    // Effect's semaphore lets a small request pass a large one that waits; queueing the requests
    // on a one-permit semaphore first keeps them in arrival order, so a large image cannot starve
    // behind a stream of small ones.
    const queue = yield* Effect.makeSemaphore(1)
    let inUseMib = 0
    let holders = 0
    let waiting = 0
    const release = (mib: number) =>
      Effect.sync(() => {
        inUseMib -= mib
        holders--
      }).pipe(Effect.zipRight(memory.release(mib)))
    return {
      capacityMib,
      withReservation: (mib) => (effect) => {
        const share = Math.max(1, Math.ceil(mib))
        // The shape of `Semaphore.withPermits`: only the wait is interruptible; once the share is
        // taken, the bookkeeping runs and the share is always given back.
        return Effect.uninterruptibleMask((restore) =>
          Effect.sync(() => waiting++).pipe(
            Effect.zipRight(restore(queue.withPermits(1)(memory.take(share)))),
            Effect.ensuring(Effect.sync(() => waiting--)),
            Effect.zipRight(Effect.sync(() => {
              inUseMib += share
              holders++
            })),
            Effect.zipRight(Effect.ensuring(restore(effect), release(share)))
          )
        )
      },
      stats: Effect.sync(() => ({ capacityMib, inUseMib, holders, waiting }))
    }
  })

// ---- configuration --------------------------------------------------------------------------------

/**
 * What a Lambda container holds besides the decodes: Node, the handler bundle, sharp and libvips,
 * the SDK clients and the runtime's own process (measured about 180 MiB with everything loaded
 * through tsx, less from the bundle; docs/decisions.md), rounded up.
 */
export const LAMBDA_BASELINE_MIB = 256

/** Outside Lambda: a budget that a 2 GiB container or a laptop can give. */
export const DEFAULT_DECODE_BUDGET_MIB = 1024

const positiveMib = (name: string) =>
  Config.integer(name).pipe(
    Config.validate({
      message: `${name} must be a whole number of MiB greater than 0`,
      validation: (n) => n > 0
    })
  )

/**
 * `IMGPIPE_DECODE_MEMORY_BUDGET_MB` (MiB). Unset: in Lambda the function's memory
 * (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) minus `LAMBDA_BASELINE_MIB`; elsewhere
 * `DEFAULT_DECODE_BUDGET_MIB`.
 */
export const decodeBudgetConfig: Config.Config<number> = Config.all({
  explicit: Config.option(positiveMib("IMGPIPE_DECODE_MEMORY_BUDGET_MB")),
  lambda: Config.option(positiveMib("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
}).pipe(
  Config.map(({ explicit, lambda }) =>
    Option.getOrElse(
      explicit,
      () =>
        Option.match(lambda, {
          onNone: () => DEFAULT_DECODE_BUDGET_MIB,
          onSome: (memory) => Math.max(64, memory - LAMBDA_BASELINE_MIB)
        })
    )
  )
)

/** The process's one budget, sized by `decodeBudgetConfig`. */
export const DecodeMemoryBudgetLive: Layer.Layer<DecodeMemoryBudget, ConfigError.ConfigError> = Layer.effect(
  DecodeMemoryBudget,
  Effect.flatMap(decodeBudgetConfig, makeDecodeBudget)
)
