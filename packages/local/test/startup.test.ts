/**
 * A newcomer's first start, as a process: where it listens is printed even at
 * IMGPIPE_LOG_LEVEL=WARN, a backlog left by a previous run is announced, and a busy port or a data
 * directory held by another process is ONE line naming the fix, with no stack trace and exit code 1.
 * A lock left by a dead process (or by a pid since reused) does not block the start.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fixture, uploadBytes, waitUntilStarted } from "./support/client.js"
import { exitWithin, freePort, makeTestDatabase, removeDir, spawnRunner, startRunner } from "./support/runner.js"

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "imgpipe-startup-"))
  cleanups.push(() => removeDir(dir))
  return dir
}

/** A stack trace line, as Node prints them. */
const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m

/** This process's start time (field 22 of /proc/self/stat), as the lock file records it. */
const ownStartTime = (): string | undefined => {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

describe("start-up", () => {
  it("prints where it listens at WARN, and the backlog a previous run left", async () => {
    const database = await makeTestDatabase()
    if (database) cleanups.push(database.drop)
    const dataDir = tempDir()
    const base = { dataDir, ...(database ? { databaseUrl: database.url } : {}) }

    // A first run whose workers take nothing: the upload's three jobs stay queued.
    const first = await startRunner({ ...base, env: { IMGPIPE_WORKER_CONCURRENCY: "0" } })
    cleanups.push(async () => void (await first.stop("SIGKILL")))
    const ticket = await uploadBytes(first.baseUrl, fixture("photo-246x345.tiff"), "image/tiff")
    await waitUntilStarted(first.baseUrl, ticket.image_id)
    expect(await first.stop("SIGTERM"), first.output()).toBe(0)

    const second = await startRunner({ ...base, env: { IMGPIPE_LOG_LEVEL: "WARN" } })
    cleanups.push(async () => void (await second.stop("SIGKILL")))
    const port = new URL(second.baseUrl).port
    const out = second.output()
    expect(out).toContain(`upload page: http://localhost:${port}/`)
    expect(out).toContain(`API docs:    http://localhost:${port}/docs`)
    expect(out).toContain(`CLI:         bun run imgpipe -- upload <files…> --wait --api http://localhost:${port}`)
    expect(out).toContain("3 jobs queued from a previous run; processing resumes")
    // WARN really filters: no INFO log line made it out.
    expect(out).not.toMatch(/level=INFO/)
    await second.stop("SIGTERM")
  }, 180_000)

  it("a busy port: one line with the fix, no stack trace, exit code 1", async () => {
    const port = await freePort()
    const blocker: Server = createServer()
    await new Promise<void>((done) => blocker.listen(port, "127.0.0.1", done))
    cleanups.push(() => new Promise<void>((done) => blocker.close(() => done())))
    const database = await makeTestDatabase()
    if (database) cleanups.push(database.drop)

    const runner = await spawnRunner({ port, dataDir: tempDir(), ...(database ? { databaseUrl: database.url } : {}) })
    const code = await exitWithin(runner, 90_000)
    const out = runner.output()
    expect(code, out).toBe(1)
    expect(out).toContain(`imgpipe: port ${port} is in use: set PORT=<another port> or stop the other process`)
    expect(out).not.toMatch(STACK_LINE)
  }, 120_000)

  it("a data directory held by a live process: one line naming it, no stack trace, exit code 1", async () => {
    const dataDir = tempDir()
    mkdirSync(dataDir, { recursive: true })
    // This test process plays the other runner: alive, with its real start time.
    const start = ownStartTime()
    writeFileSync(join(dataDir, "db.lock"), start === undefined ? String(process.pid) : `${process.pid} ${start}`)

    const runner = await spawnRunner({ dataDir })
    const code = await exitWithin(runner, 90_000)
    const out = runner.output()
    expect(code, out).toBe(1)
    expect(out).toContain(
      `imgpipe: the data directory ${dataDir} is in use by process ${process.pid}: stop it, or set IMGPIPE_DATA_DIR`
    )
    expect(out).not.toMatch(STACK_LINE)
  }, 120_000)

  it("a lock left by a dead process, or by a reused pid, does not block the start", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid
    for (const content of [`${dead}`, `${process.pid} 1`]) {
      if (content === `${process.pid} 1` && ownStartTime() === undefined) continue // no /proc: pid reuse is not detectable
      const dataDir = tempDir()
      writeFileSync(join(dataDir, "db.lock"), content)
      const runner = await startRunner({ dataDir })
      expect(await runner.stop("SIGTERM"), runner.output()).toBe(0)
    }
  }, 240_000)
})
