import { Config, Redacted } from "effect"

/**
 * A comma-separated list of bearer keys (`IMGPIPE_API_KEYS`, `IMGPIPE_ADMIN_KEYS`): blanks around
 * a key and empty entries are dropped, each key stays `Redacted` (never logged). Empty by default.
 */
export const keyListConfig = (name: string): Config.Config<ReadonlyArray<Redacted.Redacted<string>>> =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((raw) =>
      raw
        .split(",")
        .map((key) => key.trim())
        .filter((key) => key.length > 0)
        .map((key) => Redacted.make(key))
    )
  )
