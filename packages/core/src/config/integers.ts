/** How settings of one kind are read: each a `Config` whose failure is one sentence naming the variable. */
import { Config, Duration } from "effect"

/** A positive whole number, `fallback` when unset: `NAME must be a positive integer` otherwise. */
export const positiveIntegerConfig = (name: string, fallback: number): Config.Config<number> =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 })
  )

/**
 * A setting in whole seconds, at least `min`, read as a `Duration`; a wrong value fails with one
 * sentence naming the variable.
 */
export const secondsConfig = (
  name: string,
  options: { readonly fallback: number; readonly min: number; readonly note?: string }
): Config.Config<Duration.Duration> =>
  Config.integer(name).pipe(
    Config.withDefault(options.fallback),
    Config.validate({
      message:
        `${name} must be a whole number of seconds, ${options.min === 0 ? "0 or more" : `at least ${options.min}`}` +
        (options.note === undefined ? "" : ` ${options.note}`),
      validation: (n) => n >= options.min
    }),
    Config.map(Duration.seconds)
  )
