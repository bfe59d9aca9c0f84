/**
 * Starts the embedded runner (`packages/local/src/main.ts`) as a real child process, the way
 * `bun run start` does, on a free port and a temporary data folder. With TEST_DATABASE_URL set it
 * runs on a fresh database of that PostgreSQL server instead of PGlite.
 */
import { freePort } from "@imgpipe/core/util/net"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import pg from "pg"

const root = resolve(import.meta.dirname, "../../../..")

export { freePort }

/** A fresh database on the test server, or undefined for PGlite. */
export const makeTestDatabase = async (): Promise<{ url: string; drop: () => Promise<void> } | undefined> => {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) return undefined
  const name = `imgpipe_e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

export interface Runner {
  readonly baseUrl: string
  readonly dataDir: string
  readonly output: () => string
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
  readonly process: ChildProcess
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>
}

export interface RunnerOptions {
  readonly dataDir?: string
  readonly port?: number
  readonly databaseUrl?: string
  readonly env?: Readonly<Record<string, string>>
}

export interface SpawnedRunner {
  readonly baseUrl: string
  readonly dataDir: string
  readonly port: number
  readonly output: () => string
  readonly process: ChildProcess
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>
}

/** Starts the runner process and returns at once (see `startRunner` to wait until it is ready). */
export const spawnRunner = async (options: RunnerOptions = {}): Promise<SpawnedRunner> => {
  const port = options.port ?? (await freePort())
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "imgpipe-e2e-"))
  const baseUrl = `http://127.0.0.1:${port}`
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    IMGPIPE_PUBLIC_URL: baseUrl,
    IMGPIPE_DATA_DIR: dataDir,
    IMGPIPE_LOG_LEVEL: "Info",
    ...options.env
  }
  delete env.DATABASE_URL
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "packages/local/src/main.ts")], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
  return { baseUrl, dataDir, port, output: () => output, process: child, exited }
}

export const startRunner = async (options: RunnerOptions = {}): Promise<Runner> => {
  const { baseUrl, dataDir, output, process: child, exited } = await spawnRunner(options)
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`runner exited early (${child.exitCode}):\n${output()}`)
    try {
      const res = await fetch(`${baseUrl}/ready`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`runner did not become ready in 120 s:\n${output()}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    baseUrl,
    dataDir,
    output,
    process: child,
    exited,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

/** Waits up to `ms` for the process to exit: its exit code, or "timeout" (then it is killed). */
export const exitWithin = async (runner: SpawnedRunner | Runner, ms: number): Promise<number | null | "timeout"> => {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    runner.exited,
    new Promise<"timeout">((done) => (timer = setTimeout(() => done("timeout"), ms)))
  ])
  clearTimeout(timer)
  if (result === "timeout") runner.process.kill("SIGKILL")
  return result
}

export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true })
