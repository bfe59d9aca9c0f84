/**
 * `bun run migrate` against a database that is not there yet: it waits (logging what for, never
 * the password), applies the migrations once the server answers, and gives up with the last error
 * after `IMGPIPE_MIGRATE_WAIT_SECONDS`. Real processes, a real PostgreSQL behind a relay.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { migrations } from "../src/sql/migrate.js"
import { appliedMigrations, freePort, PASSWORD, relay, relayedUrl, scratchDatabase } from "./support/migrate-harness.js"

const root = resolve(import.meta.dirname, "../../..")

interface Finished {
  readonly code: number | null
  readonly output: string
  readonly seconds: number
}

/** Runs `bun run migrate` with `env` until it exits (killed, with its process group, on interruption). */
const runMigrate = (env: Record<string, string>) =>
  Effect.async<Finished>((resume) => {
    const started = Date.now()
    const child = spawn("bun", ["run", "migrate"], {
      cwd: root,
      env: { ...process.env, IMGPIPE_LOG_LEVEL: "INFO", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, output, seconds: (Date.now() - started) / 1000 })))
    return Effect.sync(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL")
    })
  })

const lines = (output: string, text: string) => output.split("\n").filter((line) => line.includes(text))

describe("bun run migrate waits for the database", () => {
  it.scopedLive("succeeds against a server that starts listening 20 s later", () =>
    Effect.gen(function* () {
      const database = yield* scratchDatabase
      const port = yield* freePort
      // Nothing listens on `port` for 20 s; then a relay to the server does.
      const run = yield* Effect.fork(
        runMigrate({ DATABASE_URL: relayedUrl(port, database), IMGPIPE_MIGRATE_WAIT_SECONDS: "90" })
      )
      yield* Effect.sleep(Duration.seconds(20))
      const proxy = yield* relay(port)
      proxy.forward()
      const finished = yield* run.await.pipe(Effect.flatten, Effect.timeout(Duration.seconds(60)))

      expect(finished.output).not.toContain(PASSWORD)
      expect(finished.code, finished.output).toBe(0)
      expect(finished.seconds).toBeGreaterThan(20)
      const waiting = lines(finished.output, `migrations: waiting for the database at 127.0.0.1:${port}/${database}`)
      expect(waiting.length, finished.output).toBeGreaterThanOrEqual(2)
      expect(waiting[0]).toContain("ECONNREFUSED")
      expect(yield* appliedMigrations(database)).toEqual(Object.keys(migrations).map((key) => key.slice(5)))
    }), { timeout: 120_000 })

  it.scopedLive("gives up with the last error after IMGPIPE_MIGRATE_WAIT_SECONDS", () =>
    Effect.gen(function* () {
      const database = yield* scratchDatabase
      const port = yield* freePort
      const finished = yield* runMigrate({
        DATABASE_URL: relayedUrl(port, database),
        IMGPIPE_MIGRATE_WAIT_SECONDS: "3"
      }).pipe(
        Effect.timeout(Duration.seconds(45))
      )

      expect(finished.output).not.toContain(PASSWORD)
      expect(finished.code, finished.output).toBe(1)
      expect(lines(finished.output, "migrations: waiting for the database").length, finished.output)
        .toBeGreaterThanOrEqual(2)
      // One error line, naming the target and the last error; no stack trace after it.
      const errors = lines(finished.output, " ERROR (")
      expect(errors, finished.output).toHaveLength(1)
      expect(errors[0]).toContain(`gave up waiting for the database at 127.0.0.1:${port}/${database}`)
      expect(errors[0]).toContain("ECONNREFUSED")
      expect(finished.output).not.toMatch(/\n\s+at /)
      expect(yield* appliedMigrations(database)).toEqual([])
    }), { timeout: 90_000 })
})
