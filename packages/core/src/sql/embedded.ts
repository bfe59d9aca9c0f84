/**
 * The embedded database: PGlite in a thread of its own, served over the PostgreSQL wire protocol on
 * loopback, so the same `PgClient` code runs on it as on a real server; and `DatabaseLive`, the
 * embedded runner's choice between it and `DATABASE_URL`.
 */
import type { SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { type ConfigError, Deferred, Duration, Effect, Layer, Option, Runtime } from "effect"
import { resolve } from "node:path"
import { Worker } from "node:worker_threads"
import { dbPoolSizeConfig } from "../config/runtime.js"
import { DatabaseError } from "../domain/errors.js"
import { type Database, databaseUrlConfig, dataDirConfig, pgLayer } from "./client.js"
import type { DatabaseSecretError } from "./databaseSecret.js"
import { type DataDirInUse, lockDataDir } from "./dataDirLock.js"

export { DataDirInUse } from "./dataDirLock.js"

const startError = (operation: string) => (cause: unknown) =>
  new DatabaseError({ operation, message: cause instanceof Error ? cause.message : String(cause) })

/** What the database thread says (see pglite-thread.mjs). */
type ThreadMessage =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped" }

const isThreadMessage = (value: unknown): value is ThreadMessage =>
  typeof value === "object" && value !== null && "type" in value &&
  (value.type === "ready" || value.type === "failed" || value.type === "stopped")

/**
 * How long closing waits for PGlite to flush and close before the thread is terminated. Short: a
 * stop has a deadline (the runner's shutdown grace), and PGlite recovers from an unclean close as
 * PostgreSQL does from a crash.
 */
const STOP_TIMEOUT = Duration.seconds(10)

/**
 * Starts the database thread and waits until its socket server listens; returns the port. Closing
 * the scope asks the thread to stop the server and close PGlite (which flushes it to disk), waits
 * for that, and ends the thread. The thread dying on its own is logged as an error: every query
 * after it fails with a connection error, and `/ready` reports the database unreachable.
 */
const startThread = (dataDir: string | undefined) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const ready = yield* Deferred.make<number, DatabaseError>()
    const stopped = yield* Deferred.make<void>()
    const worker = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          new Worker(new URL("./pglite-thread.mjs", import.meta.url), {
            workerData: { dataDir: dataDir ?? null },
            // Plain JavaScript: no loader (tsx, vitest) is needed or wanted in this thread.
            execArgv: [],
            name: "imgpipe-pglite"
          }),
        catch: startError("start embedded database thread")
      }),
      (worker) =>
        Effect.gen(function* () {
          worker.postMessage({ type: "stop" })
          const clean = yield* Deferred.await(stopped).pipe(Effect.timeout(STOP_TIMEOUT), Effect.option)
          if (Option.isNone(clean)) {
            yield* Effect.logWarning("the embedded database did not close in time; stopping its thread")
          }
          yield* Effect.promise(() => worker.terminate())
        })
    )
    worker.on("message", (message: unknown) => {
      if (!isThreadMessage(message)) return
      switch (message.type) {
        case "ready":
          runFork(Deferred.succeed(ready, message.port))
          break
        case "failed":
          runFork(
            Deferred.fail(ready, new DatabaseError({ operation: "open embedded database", message: message.message }))
              .pipe(
                Effect.zipRight(Effect.logError("embedded database", { message: message.message }))
              )
          )
          break
        case "stopped":
          runFork(Deferred.succeed(stopped, undefined))
          break
      }
    })
    worker.on("error", (error) => {
      runFork(
        Deferred.fail(ready, startError("embedded database thread")(error)).pipe(
          Effect.zipRight(Effect.logError("the embedded database thread failed", { message: error.message }))
        )
      )
    })
    worker.on("exit", () => {
      runFork(Deferred.succeed(stopped, undefined))
    })
    return yield* Deferred.await(ready)
  })

/**
 * An embedded PGlite database: in memory when `dataDir` is omitted, else persisted in `dataDir`.
 *
 * PGlite executes statements (and, on disk, its file writes) synchronously on the thread that owns
 * it, so it runs in a worker thread of its own (`pglite-thread.mjs`) behind a socket server on
 * 127.0.0.1 with an OS-assigned port. Loopback only: there is no authentication.
 *
 * PGlite is single-connection, so the `PgClient` over it has `maxConnections: 1`: transactions
 * (`withTransaction`) hold that connection and every other query waits for it, which keeps
 * `SELECT … FOR UPDATE` and `FOR UPDATE SKIP LOCKED` correct (nothing else can interleave).
 * Consequence: inside a transaction, never run SQL from a fiber that does not inherit the
 * transaction (a daemon fiber), or it waits for the connection the transaction holds.
 * Interrupting a query does not cancel it (the socket server ignores CancelRequest): the fiber
 * waits for the statement to finish, and inside a transaction up to 5 s more (sql-pg's
 * `pg_cancel_backend` attempt queues for the one connection until its own timeout).
 *
 * Everything is scoped: closing the layer ends the pool, stops the socket server and closes PGlite
 * (flushing it to disk) in its thread, ends the thread and releases the directory lock, in that order.
 */
export const PgliteLive = (dataDir?: string): Layer.Layer<Database, DatabaseError | DataDirInUse | SqlError.SqlError> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const dir = dataDir === undefined ? undefined : resolve(dataDir)
      if (dir !== undefined) yield* lockDataDir(dir)
      const port = yield* startThread(dir)
      return PgClient.layer({
        host: "127.0.0.1",
        port,
        username: "postgres",
        database: "postgres",
        ssl: false,
        maxConnections: 1,
        // Keep the one connection for the life of the layer (pg would drop it after 10 s idle).
        idleTimeout: Duration.zero,
        applicationName: "imgpipe"
      })
    })
  )

/** Connections to `DATABASE_URL`: 10 when unset (pg's own default). */
const poolSizeConfig = dbPoolSizeConfig(10)

/**
 * PostgreSQL when `DATABASE_URL` is set, else the embedded PGlite in `${IMGPIPE_DATA_DIR}/db`.
 * Migrations are not run here: that is a separate step (`runMigrations`).
 */
type DatabaseLiveError =
  | ConfigError.ConfigError
  | SqlError.SqlError
  | DatabaseError
  | DatabaseSecretError
  | DataDirInUse

export const DatabaseLive: Layer.Layer<Database, DatabaseLiveError> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* databaseUrlConfig
    if (Option.isSome(url)) {
      const poolSize = yield* poolSizeConfig
      yield* Effect.logInfo("database: PostgreSQL (DATABASE_URL)")
      return pgLayer({ maxConnections: poolSize }) satisfies Layer.Layer<
        Database,
        DatabaseLiveError
      > as Layer.Layer<Database, DatabaseLiveError>
    }
    const dataDir = `${yield* dataDirConfig}/db`
    yield* Effect.logInfo("database: embedded PGlite").pipe(Effect.annotateLogs({ data_dir: resolve(dataDir) }))
    return PgliteLive(dataDir)
  })
)
