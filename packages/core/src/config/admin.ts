/**
 * `IMGPIPE_ADMIN_KEYS`: the bearer keys of the admin API (and of `GET /metrics` when set),
 * comma-separated, kept `Redacted` (never logged). Separate from the upload keys (`IMGPIPE_API_KEYS`).
 * Empty (the default) turns the admin API off, except where a runtime's layers choose otherwise (the
 * embedded runner bound to loopback).
 */
import { Config, Redacted } from "effect"

export const adminKeysConfig: Config.Config<ReadonlyArray<Redacted.Redacted<string>>> = Config.string(
  "IMGPIPE_ADMIN_KEYS"
).pipe(
  Config.withDefault(""),
  Config.map((raw) =>
    raw
      .split(",")
      .map((key) => key.trim())
      .filter((key) => key.length > 0)
      .map((key) => Redacted.make(key))
  )
)
