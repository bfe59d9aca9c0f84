import type { SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Config, type ConfigError, Duration, Effect, Layer, Option, Redacted } from "effect"
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { DatabaseError } from "../domain/errors.js"

/** What every database layer provides: the generic client and the PostgreSQL-specific one. */
export type Database = SqlClient.SqlClient | PgClient.PgClient

/** `IMGPIPE_DATA_DIR`: where the embedded mode keeps its database and objects. */
export const dataDirConfig: Config.Config<string> = Config.string("IMGPIPE_DATA_DIR").pipe(
  Config.withDefault("./.imgpipe")
)

/**
 * `DATABASE_URL`, when set to something non-empty. An empty value counts as unset so that a
 * compose file or `.env` can leave it blank to mean "embedded".
 */
export const databaseUrlConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("DATABASE_URL")
).pipe(Config.map(Option.filter((url) => Redacted.value(url).trim().length > 0)))

// ---- (a) a PostgreSQL server -----------------------------------------------------------------

export interface PgOptions {
  /**
   * Pool size per process. Lambda wants 1–2 (RDS Proxy multiplexes), the API more; the pg
   * default is 10.
   */
  readonly maxConnections?: number
}

/**
 * PostgreSQL at `DATABASE_URL`. The URL stays `Redacted` all the way into the pool, so it never
 * reaches a log line, a span or an error message.
 */
export const pgLayer = (
  options: PgOptions = {}
): Layer.Layer<Database, ConfigError.ConfigError | SqlError.SqlError> =>
  PgClient.layerConfig({
    url: Config.redacted("DATABASE_URL"),
    ...(options.maxConnections !== undefined ? { maxConnections: Config.succeed(options.maxConnections) } : {})
  })

/** PostgreSQL at `DATABASE_URL` with the default pool. */
export const PgLive: Layer.Layer<Database, ConfigError.ConfigError | SqlError.SqlError> = pgLayer()

// ---- (b) embedded PGlite served over a loopback socket ----------------------------------------

const startError = (operation: string) => (cause: unknown) =>
  new DatabaseError({ operation, message: cause instanceof Error ? cause.message : String(cause) })

/** Data directories this process has open: PGlite must never open one twice. */
const openDataDirs = new Set<string>()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * PGlite has no cross-process locking: two processes on one data directory (say `bun run migrate`
 * while `bun run start` is up) corrupt it. A `<dir>.lock` file with the owner's pid guards it; a
 * lock left by a dead process is taken over. Comparing pids means nothing across machines or
 * containers sharing a volume — the embedded mode is one process on one machine.
 */
const lockDataDir = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (openDataDirs.has(dataDir)) {
          throw new Error(`the embedded database ${dataDir} is already open in this process`)
        }
        mkdirSync(dirname(dataDir), { recursive: true })
        const lockPath = `${dataDir}.lock`
        for (let attempt = 0; ; attempt++) {
          try {
            writeFileSync(lockPath, String(process.pid), { flag: "wx" })
            break
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error
          }
          const holder = Number.parseInt(readFileSync(lockPath, "utf8"), 10)
          // Our own pid in the file is a leftover (containers reuse pid 1): this process has not
          // opened the directory, we checked above.
          if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
            throw new Error(`the embedded database ${dataDir} is in use by process ${holder}`)
          }
          unlinkSync(lockPath)
        }
        openDataDirs.add(dataDir)
        return lockPath
      },
      catch: startError("lock embedded database")
    }),
    (lockPath) =>
      Effect.sync(() => {
        openDataDirs.delete(dataDir)
        try {
          unlinkSync(lockPath)
        } catch {
          // Already gone: nothing to release.
        }
      })
  )

const openPglite = (dataDir: string | undefined) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => PGlite.create(dataDir ?? "memory://"),
      catch: startError("open embedded database")
    }),
    (db) =>
      Effect.tryPromise(() => (db.closed ? Promise.resolve() : db.close())).pipe(
        Effect.ignoreLogged
      )
  )

/**
 * Serves PGlite over the PostgreSQL wire protocol on 127.0.0.1 with an OS-assigned port (the
 * server supports `port: 0` and reports the bound port through `getServerConn()`), so the same
 * `PgClient` code runs on it as on a real server. Loopback only: there is no authentication.
 */
const serve = (db: PGlite) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const server = new PGLiteSocketServer({
          db,
          host: "127.0.0.1",
          port: 0,
          // The pool holds one connection; the slack of one more only absorbs a reconnect that
          // races the server's deferred clean-up of the previous socket ("Too many connections").
          maxConnections: 2
        })
        await server.start()
        const port = Number.parseInt(server.getServerConn().split(":").pop() ?? "", 10)
        if (!Number.isInteger(port) || port <= 0) {
          await server.stop()
          throw new Error(`the PGlite socket server reported no port (${server.getServerConn()})`)
        }
        return { server, port }
      },
      catch: startError("serve embedded database")
    }),
    ({ server }) => Effect.promise(() => server.stop())
  ).pipe(Effect.map(({ port }) => port))

/**
 * An embedded PGlite database: in memory when `dataDir` is omitted, else persisted in `dataDir`.
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
 * Everything is scoped: closing the layer ends the pool, stops the socket server, closes PGlite
 * (flushing it to disk) and releases the directory lock, in that order.
 */
export const PgliteLive = (dataDir?: string): Layer.Layer<Database, DatabaseError | SqlError.SqlError> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const dir = dataDir === undefined ? undefined : resolve(dataDir)
      if (dir !== undefined) yield* lockDataDir(dir)
      const db = yield* openPglite(dir)
      const port = yield* serve(db)
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

// ---- (c) the runtime's choice -----------------------------------------------------------------

/**
 * PostgreSQL when `DATABASE_URL` is set, else the embedded PGlite in `${IMGPIPE_DATA_DIR}/db`.
 * Migrations are not run here: that is a separate step (`runMigrations`).
 */
export const DatabaseLive: Layer.Layer<
  Database,
  ConfigError.ConfigError | SqlError.SqlError | DatabaseError
> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* databaseUrlConfig
    if (Option.isSome(url)) {
      yield* Effect.logInfo("database: PostgreSQL (DATABASE_URL)")
      return PgLive as Layer.Layer<Database, ConfigError.ConfigError | SqlError.SqlError | DatabaseError>
    }
    const dataDir = `${yield* dataDirConfig}/db`
    yield* Effect.logInfo("database: embedded PGlite").pipe(Effect.annotateLogs({ data_dir: resolve(dataDir) }))
    return PgliteLive(dataDir)
  })
)
