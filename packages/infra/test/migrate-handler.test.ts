/**
 * The deploy-time migration Lambda's handler against a database that is not reachable yet: a
 * proxy that accepts connections and never answers (RDS Proxy before its target is registered)
 * is retried with a fresh connection, and a server that never comes is given up on after
 * `IMGPIPE_MIGRATE_WAIT_SECONDS` with the last error. In process, against a real PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import { migrations } from "@imgpipe/core/sql/migrate"
import {
  appliedMigrations,
  freePort,
  relay,
  relayedUrl,
  scratchDatabase
} from "@imgpipe/core/test/support/migrate-harness"
import { Duration, Effect } from "effect"
import { handler } from "../src/migrate.js"

/** Sets `env` for the scope (the handler reads its Config from `process.env` when it runs). */
const withEnv = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const before = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]))
      Object.assign(process.env, env)
      return before
    }),
    (before) =>
      Effect.sync(() => {
        for (const [key, value] of Object.entries(before)) {
          if (value === undefined) delete process.env[key]
          else process.env[key] = value
        }
      })
  )

describe("the Migrate Lambda waits for the database", () => {
  it.scopedLive("retries past a proxy that accepts and never answers, then migrates", () =>
    Effect.gen(function* () {
      const database = yield* scratchDatabase
      const port = yield* freePort
      const proxy = yield* relay(port)
      yield* withEnv({ DATABASE_URL: relayedUrl(port, database), IMGPIPE_MIGRATE_WAIT_SECONDS: "60" })
      // The first connection hangs; from 3 s on, new connections reach the server.
      yield* Effect.forkScoped(Effect.delay(Effect.sync(proxy.forward), Duration.seconds(3)))

      const result = yield* Effect.promise(handler).pipe(Effect.timeout(Duration.seconds(45)))

      const names = Object.keys(migrations)
      expect(result.applied).toEqual(names)
      expect(yield* appliedMigrations(database)).toEqual(names.map((key) => key.slice(5)))
      expect(proxy.connections()).toBeGreaterThanOrEqual(2)
    }), { timeout: 90_000 })

  it.scopedLive(
    "fails with the last error once IMGPIPE_MIGRATE_WAIT_SECONDS has passed",
    () =>
      Effect.gen(function* () {
        const database = yield* scratchDatabase
        const port = yield* freePort
        yield* withEnv({ DATABASE_URL: relayedUrl(port, database), IMGPIPE_MIGRATE_WAIT_SECONDS: "2" })

        const started = Date.now()
        const error = yield* Effect.tryPromise({ try: handler, catch: (cause) => cause }).pipe(
          Effect.flip,
          Effect.timeout(Duration.seconds(30))
        )
        const seconds = (Date.now() - started) / 1000

        expect(String(error)).toContain("Failed to connect")
        expect(seconds).toBeGreaterThanOrEqual(2)
        expect(yield* appliedMigrations(database)).toEqual([])
      }),
    { timeout: 60_000 }
  )
})
