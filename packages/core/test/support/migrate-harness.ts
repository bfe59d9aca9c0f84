/**
 * For the tests of the migration entries against a database that is not there yet: a scratch
 * database on a real PostgreSQL server, free ports, and a TCP relay in front of the server that
 * can refuse (not listening), hold connections without answering (a proxy with no target yet) or
 * forward them.
 *
 * The server: `TEST_DATABASE_URL` when set, else the local `postgres://postgres@127.0.0.1:5432`.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as net from "node:net"

const serverUrl = new URL(
  (process.env["TEST_DATABASE_URL"] ?? "").trim() || "postgres://postgres@127.0.0.1:5432/postgres"
)

/** A password the logs must never show: the server's own, else a marker (ignored by trust auth). */
export const PASSWORD = serverUrl.password.length > 0 ? decodeURIComponent(serverUrl.password) : "pw-must-not-be-logged"

const urlFor = (host: string, port: number, database: string) => {
  const url = new URL(serverUrl.toString())
  url.hostname = host
  url.port = String(port)
  url.pathname = `/${database}`
  url.password = encodeURIComponent(PASSWORD)
  return url.toString()
}

const withClient = <A>(database: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, unknown>) =>
  Effect.scoped(
    Effect.flatMap(
      PgClient.make({
        url: Redacted.make(urlFor(serverUrl.hostname, Number(serverUrl.port || "5432"), database)),
        maxConnections: 1
      }),
      f
    )
  ).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

/** A new empty database, dropped (`WITH (FORCE)`) when the scope closes. */
export const scratchDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function* () {
    const name = `imgpipe_m_${randomBytes(6).toString("hex")}`
    yield* withClient(serverUrl.pathname.slice(1) || "postgres", (sql) => sql`CREATE DATABASE ${sql(name)}`)
    return name
  }),
  (name) =>
    withClient(
      serverUrl.pathname.slice(1) || "postgres",
      (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`
    )
)

/** The names recorded in the migrations table of `database` (none if it does not exist). */
export const appliedMigrations = (database: string) =>
  withClient(database, (sql) =>
    sql<{ name: string }>`SELECT name FROM imgpipe_migrations ORDER BY migration_id`.pipe(
      Effect.map((rows) => rows.map((row) => row.name)),
      Effect.catchAll(() => Effect.succeed<Array<string>>([]))
    ))

/** A port on 127.0.0.1 that nothing listens on (until a relay does). */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/** `DATABASE_URL` for `database` through a relay on `port` (with the password that must stay hidden). */
export const relayedUrl = (port: number, database: string) => urlFor("127.0.0.1", port, database)

export interface Relay {
  /** From now on, relay new connections to the server (held ones stay silent). */
  readonly forward: () => void
  readonly connections: () => number
}

/**
 * Listens on `port`. Until `forward()`, it accepts each connection and never answers (as RDS
 * Proxy may before its target is registered), and keeps it so; after, it relays new connections
 * to the server. Everything is closed with the scope.
 */
export const relay = (port: number): Effect.Effect<Relay, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; relay: Relay; sockets: Set<net.Socket> }>((resume) => {
      const sockets = new Set<net.Socket>()
      let forwarding = false
      let count = 0
      const pipe = (client: net.Socket) => {
        const upstream = net.connect(Number(serverUrl.port || "5432"), serverUrl.hostname)
        sockets.add(upstream)
        client.pipe(upstream).pipe(client)
        upstream.on("error", () => client.destroy())
        client.on("error", () => upstream.destroy())
      }
      const server = net.createServer((client) => {
        count++
        sockets.add(client)
        if (forwarding) pipe(client)
      })
      server.listen(port, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          sockets,
          relay: {
            forward: () => {
              forwarding = true
            },
            connections: () => count
          }
        })))
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ relay }) => relay))
