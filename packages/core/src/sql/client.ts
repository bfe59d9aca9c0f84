/**
 * PostgreSQL clients for the runtimes that talk to a server (ECS API, Lambda handlers, the
 * embedded runner with `DATABASE_URL`). The embedded PGlite lives in `embedded.ts`, so that bundles
 * built from this module (Lambda, ECS) carry no WebAssembly database.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { type ConfigError, type Duration, Effect, Layer } from "effect"
import { type DatabaseSecretError, databaseUrlWithSecret } from "./databaseSecret.js"

/** What every database layer provides: the generic client and the PostgreSQL-specific one. */
export type Database = SqlClient.SqlClient | PgClient.PgClient

/** `IMGPIPE_DATA_DIR`, defined with the other settings; re-exported for the embedded modules. */
export { dataDirConfig } from "../config/runtime.js"

/** `DATABASE_URL` (blank counts as unset), defined with the other settings; re-exported for the runtimes. */
export { databaseUrlConfig } from "../config/database.js"

// ---- (a) a PostgreSQL server -----------------------------------------------------------------

export interface PgOptions {
  /**
   * Pool size per process. Lambda wants 1–2 (RDS Proxy multiplexes), the API more; the pg
   * default is 10.
   */
  readonly maxConnections?: number
  /**
   * How long opening a connection may take (TCP, TLS and the start-up handshake). Unset, pg waits
   * for ever on a server that accepts and never answers (a proxy with no target yet), and
   * sql-pg's own 5 s check cannot cut it short.
   */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * PostgreSQL at `DATABASE_URL`. The URL stays `Redacted` all the way into the pool, so it never
 * reaches a log line, a span or an error message.
 *
 * With `IMGPIPE_DATABASE_SECRET_ARN` (AWS: the URL has no password) the password is read from that
 * Secrets Manager secret when the layer is built, once per process (databaseSecret.ts), and a
 * secret that cannot be read fails the layer with `DatabaseSecretError`.
 */
export const pgLayer = (
  options: PgOptions = {}
): Layer.Layer<Database, ConfigError.ConfigError | SqlError.SqlError | DatabaseSecretError> =>
  Layer.unwrapEffect(
    Effect.map(databaseUrlWithSecret, (url) =>
      PgClient.layer({
        url,
        ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
        ...(options.connectTimeout !== undefined ? { connectTimeout: options.connectTimeout } : {})
      }))
  )

/** PostgreSQL at `DATABASE_URL` with the default pool. */
export const PgLive: Layer.Layer<Database, ConfigError.ConfigError | SqlError.SqlError | DatabaseSecretError> =
  pgLayer()
