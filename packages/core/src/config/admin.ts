/**
 * `IMGPIPE_ADMIN_KEYS`: the bearer keys of the admin API (and of `GET /metrics` when set),
 * comma-separated, kept `Redacted` (never logged). Separate from the upload keys (`IMGPIPE_API_KEYS`).
 * Empty (the default) turns the admin API off, except where a runtime's layers choose otherwise (the
 * embedded runner bound to loopback).
 */
import type { Config, Redacted } from "effect"
import { keyListConfig } from "./keys.js"

export const adminKeysConfig: Config.Config<ReadonlyArray<Redacted.Redacted<string>>> = keyListConfig(
  "IMGPIPE_ADMIN_KEYS"
)
