/**
 * `bun run migrate`: applies the pending migrations, then exits.
 *
 * PostgreSQL at `DATABASE_URL` when it is set (the URL is read as `Redacted` and never printed;
 * logs name its `host:port/database` only), else the embedded PGlite database in
 * `${IMGPIPE_DATA_DIR}/db` (default `./.imgpipe/db`). A server that does not answer yet is
 * retried for `IMGPIPE_MIGRATE_WAIT_SECONDS` (default 180); after that the command exits 1 with
 * one line naming the last error. The embedded database must not be open in another process
 * (`bun run start`): the data directory is locked and this command fails fast if it is.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Option } from "effect"
import { databaseUrlConfig, pgLayer } from "./client.js"
import { DatabaseLive } from "./embedded.js"
import {
  databaseTarget,
  isConnectionFailure,
  MIGRATE_CONNECT_TIMEOUT,
  migrateWaitConfig,
  migrateWhenReachable,
  runMigrations
} from "./migrate.js"

const migrate = Effect.gen(function* () {
  const url = yield* databaseUrlConfig
  if (Option.isNone(url)) return yield* Effect.provide(runMigrations, DatabaseLive)
  return yield* migrateWhenReachable(pgLayer({ maxConnections: 1, connectTimeout: MIGRATE_CONNECT_TIMEOUT }), {
    target: databaseTarget(url.value),
    maxWait: yield* migrateWaitConfig
  })
})

const main = Effect.gen(function* () {
  const applied = yield* migrate
  if (applied.length === 0) {
    yield* Effect.logInfo("migrations: the database is up to date")
  } else {
    yield* Effect.logInfo(`migrations: applied ${applied.length}`).pipe(
      Effect.annotateLogs({ applied: applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`) })
    )
  }
}).pipe(
  // A connection that never came up was logged as one line by `migrateWhenReachable`; anything
  // else (a configuration error, a failing migration) is logged here with its cause.
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) || Cause.failureOption(cause).pipe(Option.exists(isConnectionFailure))
      ? Effect.void
      : Effect.logError("migrations: failed", cause)
  )
)

main.pipe(NodeRuntime.runMain({ disableErrorReporting: true }))
