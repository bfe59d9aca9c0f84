import type { SqlClient, SqlError } from "@effect/sql"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Clock, Duration, Effect, type Layer, Redacted, Schedule } from "effect"
import { secondsConfig } from "../config.js"
import createImages from "./migrations/0001_create_images.js"
import createJobs from "./migrations/0002_create_jobs.js"
import indexExhaustedJobs from "./migrations/0003_index_exhausted_jobs.js"
import recordRenditionFunction from "./migrations/0004_record_rendition_function.js"
import tooLargeToDecode from "./migrations/0005_too_large_to_decode.js"
import reconcile from "./migrations/0006_reconcile.js"
import webhooks from "./migrations/0007_webhooks.js"
import jobTraceContext from "./migrations/0009_job_trace_context.js"
import adminListing from "./migrations/0010_admin_listing.js"
import webhookTraceContext from "./migrations/0011_webhook_trace_context.js"
import delivery from "./migrations/0012_delivery.js"

/** Where the migrator records what it applied. */
export const MIGRATIONS_TABLE = "imgpipe_migrations"

/**
 * The migrations, imported statically: a record survives bundling (Lambda, the Docker image),
 * where a glob or a directory read would not. Keys are `<id>_<name>`; add new files here.
 */
export const migrations = {
  "0001_create_images": createImages,
  "0002_create_jobs": createJobs,
  "0003_index_exhausted_jobs": indexExhaustedJobs,
  "0004_record_rendition_function": recordRenditionFunction,
  "0005_too_large_to_decode": tooLargeToDecode,
  "0006_reconcile": reconcile,
  "0007_webhooks": webhooks,
  "0009_job_trace_context": jobTraceContext,
  "0010_admin_listing": adminListing,
  "0011_webhook_trace_context": webhookTraceContext,
  "0012_delivery": delivery
} as const

/**
 * `PgMigrator.run` would also demand `FileSystem`, `Path` and `CommandExecutor` for its optional
 * `pg_dump` of the schema, which we never use; `make({})` is the same migrator without it, so
 * running migrations needs nothing but a `SqlClient`.
 */
const migrator = PgMigrator.make({})

/**
 * Applies the migrations not yet recorded, in one transaction under a table lock (a second
 * concurrent run waits, then finds nothing to do). Returns the `[id, name]` pairs applied.
 *
 * This is its own step (`bun run migrate`, the embedded runner's start-up, the test database):
 * never call it from a service constructor.
 */
export const runMigrations: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  PgMigrator.MigrationError | SqlError.SqlError,
  SqlClient.SqlClient
> = migrator({
  loader: PgMigrator.fromRecord(migrations),
  table: MIGRATIONS_TABLE
}).pipe(Effect.withSpan("runMigrations"))

// ---- waiting for the database ------------------------------------------------------------------

/**
 * `IMGPIPE_MIGRATE_WAIT_SECONDS`: how long a migration entry keeps retrying to reach the database
 * (a first deploy starts it while RDS Proxy is still registering its target). See docs/deploy.md.
 */
export const migrateWaitConfig = secondsConfig("IMGPIPE_MIGRATE_WAIT_SECONDS", {
  fallback: 180,
  min: 0,
  note: "(0: no retry)"
})

/** How long one connection attempt may take before it counts as failed and is retried. */
export const MIGRATE_CONNECT_TIMEOUT = Duration.seconds(10)

/** Socket errors of a server that is not there yet (or not reachable yet). */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE"
])

/**
 * SQLSTATEs of a server that cannot take connections yet: class 08 (connection exception) and
 * 57P01–57P03 (shutting down, crashed, "the database system is starting up").
 */
const isUnavailableState = (code: string) => code.startsWith("08") || /^57P0[123]$/.test(code)

/** Messages of pg, sql-pg and RDS Proxy for a connection that did not come up in time. */
const UNAVAILABLE_MESSAGE =
  /timeout expired|connection terminated|connection timed out|timed-out waiting to acquire database connection|the database system is (starting up|shutting down|in recovery mode)/i

const field = (
  value: object,
  key: string
): unknown => (key in value ? (value as Record<string, unknown>)[key] : undefined)

/**
 * Whether `error` (or anything in its cause chain) says the database is not reachable yet, as
 * opposed to a wrong password, a missing database or a failing migration, which are not retried.
 */
export const isConnectionFailure = (error: unknown, depth = 0): boolean => {
  if (typeof error !== "object" || error === null || depth > 5) return false
  const code = field(error, "code")
  if (typeof code === "string" && (SOCKET_CODES.has(code) || isUnavailableState(code))) return true
  const message = field(error, "message")
  if (typeof message === "string" && UNAVAILABLE_MESSAGE.test(message)) return true
  const nested = field(error, "errors")
  if (Array.isArray(nested) && nested.some((inner) => isConnectionFailure(inner, depth + 1))) return true
  return isConnectionFailure(field(error, "cause"), depth + 1)
}

/** One line for an error and its causes (`PgClient: Failed to connect: connect ECONNREFUSED …`). */
export const describeError = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const message = field(current, "message")
    const code = field(current, "code")
    const text = typeof message === "string" && message.length > 0 ? message : typeof code === "string" ? code : ""
    // A cause that only repeats its parent (`PgClient: Connection timed out` / `Connection timed out`) adds nothing.
    if (text.length > 0 && !parts.some((part) => part.includes(text))) parts.push(text)
    current = field(current, "cause")
  }
  return parts.length > 0 ? parts.join(": ") : String(error)
}

/** `host:port/database` of a connection string, for logs: never the user or the password. */
export const databaseTarget = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port.length > 0 ? parsed.port : "5432"}${parsed.pathname}`
  } catch {
    return "the server in DATABASE_URL (not a URL)"
  }
}

/**
 * The retry policy: exponential from 500 ms, at most 10 s apart, until `maxWait` has passed since
 * the first failure.
 */
export const connectSchedule = (maxWait: Duration.Duration) =>
  Schedule.exponential(Duration.millis(500)).pipe(
    Schedule.union(Schedule.spaced(Duration.seconds(10))),
    Schedule.upTo(maxWait)
  )

/**
 * Connects through `database` and applies the pending migrations. While connecting fails the way a
 * database that is still starting fails, it logs what it waits for (`target`, never the URL) and
 * tries again with a fresh connection (`connectSchedule`); after `maxWait` it fails with the last
 * error, logged as one line. Any other failure (authentication, a migration) is not retried.
 */
export const migrateWhenReachable = <E, R>(
  database: Layer.Layer<SqlClient.SqlClient, E, R>,
  options: { readonly target: string; readonly maxWait: Duration.Duration }
): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  E | PgMigrator.MigrationError | SqlError.SqlError,
  R
> =>
  Effect.gen(function* () {
    yield* Effect.logInfo(`migrations: PostgreSQL at ${options.target}`)
    const started = yield* Clock.currentTimeMillis
    const waited = Effect.map(Clock.currentTimeMillis, (now) => `${Math.round((now - started) / 1000)} s`)
    let attempt = 0
    return yield* Effect.suspend(() => {
      attempt++
      return Effect.provide(runMigrations, database)
    }).pipe(
      Effect.tapError((error) =>
        isConnectionFailure(error)
          ? Effect.flatMap(waited, (elapsed) =>
            Effect.logWarning(
              `migrations: waiting for the database at ${options.target} (attempt ${attempt}, ${elapsed}): ${
                describeError(error)
              }`
            ))
          : Effect.void
      ),
      Effect.retry({ schedule: connectSchedule(options.maxWait), while: isConnectionFailure }),
      Effect.tapError((error) =>
        isConnectionFailure(error)
          ? Effect.flatMap(waited, (elapsed) =>
            Effect.logError(
              `migrations: gave up waiting for the database at ${options.target} after ${attempt} attempts and ${elapsed}: ${
                describeError(error)
              }`
            ))
          : Effect.void
      )
    )
  })
