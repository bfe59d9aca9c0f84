/**
 * A fresh, migrated database per layer instance, for any test that needs SQL.
 *
 * - `TEST_DATABASE_URL` set (CI: `postgres://postgres@127.0.0.1:5432/test`): a new database
 *   `imgpipe_t_<random>` on that server, created through a short-lived admin connection and
 *   dropped `WITH (FORCE)` when the layer closes. The pool is the pg default (10), so concurrent
 *   effects in a test really run concurrently.
 * - otherwise: an in-memory PGlite behind the socket server (`PgliteLive()`), as in the embedded
 *   runtime. Starting it takes a few seconds (initdb in WebAssembly): share one per test file
 *   with `layer(TestDatabase)(…)` and keep the tests independent (fresh ids, `resetQueues`).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import type { Database } from "../../src/sql/client.js"
import { PgliteLive } from "../../src/sql/embedded.js"
import { runMigrations } from "../../src/sql/migrate.js"

const testDatabaseUrl = Config.option(Config.redacted("TEST_DATABASE_URL")).pipe(
  Config.map(Option.filter((url) => Redacted.value(url).trim().length > 0))
)

/** The same server URL with another database name. */
const withDatabase = (url: Redacted.Redacted<string>, database: string): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${database}`
  return Redacted.make(parsed.toString())
}

/** Runs `f` on a one-connection client that is closed right after. */
const withAdmin = <A>(
  url: Redacted.Redacted<string>,
  f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>
): Effect.Effect<A, unknown> =>
  Effect.scoped(Effect.flatMap(PgClient.make({ url, maxConnections: 1 }), f)).pipe(
    Effect.provide(Reactivity.layer)
  )

/** A database of its own on the server at `url`, gone again when the scope closes. */
const isolatedPostgres = (url: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    const name = `imgpipe_t_${randomBytes(6).toString("hex")}`
    yield* Effect.acquireRelease(
      withAdmin(url, (sql) => sql`CREATE DATABASE ${sql(name)}`),
      () =>
        withAdmin(url, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).pipe(
          Effect.catchAll((error) => Effect.logWarning(`could not drop test database ${name}`, error))
        )
    )
    const client = yield* PgClient.make({ url: withDatabase(url, name), applicationName: "imgpipe-test" })
    return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))
  })

const unmigrated: Layer.Layer<Database, unknown> = Layer.unwrapEffect(
  Effect.map(testDatabaseUrl, (url) =>
    Option.match(url, {
      onNone: (): Layer.Layer<Database, unknown> => PgliteLive(),
      onSome: (url) => Layer.scopedContext(isolatedPostgres(url)).pipe(Layer.provide(Reactivity.layer))
    }))
)

/** `SqlClient` and `PgClient` on a fresh database with every migration applied. */
export const TestDatabase: Layer.Layer<Database> = Layer.effectDiscard(runMigrations).pipe(
  Layer.provideMerge(unmigrated),
  Layer.orDie
)

/** Which kind of database the tests run on, for test names and logs. */
export const testDatabaseKind: string = (process.env["TEST_DATABASE_URL"] ?? "").trim().length > 0
  ? "PostgreSQL"
  : "PGlite"

/** Empties the queue tables (queue tests share one database per file). */
export const resetQueues: Effect.Effect<void, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`TRUNCATE jobs, dead_jobs`
}).pipe(Effect.orDie)
