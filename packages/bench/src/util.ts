/**
 * Small helpers the bench sections share: paths, progress output, statistics, child processes, and
 * how `bun run start` runs a TypeScript entry (runner.ts starts the embedded runner with them).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

export const repoRoot = resolve(import.meta.dirname, "../../..")
export const fixturesDir = join(repoRoot, "packages/core/test/fixtures/images")

const started = Date.now()

/** One progress line on stdout, with the time since the bench started. */
export const progress = (message: string): void => {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4)
  process.stdout.write(`[${seconds}s] ${message}\n`)
}

export const elapsedSeconds = (): number => (Date.now() - started) / 1000

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

// ---- statistics ---------------------------------------------------------------------------------

/** Nearest-rank percentile of unsorted values; NaN for none. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

export const median = (values: ReadonlyArray<number>): number => percentile(values, 50)

export const sum = (values: ReadonlyArray<number>): number => values.reduce((a, b) => a + b, 0)

// ---- formatting -------------------------------------------------------------------------------

export const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : "–")

export const fmtBytes = (bytes: number): string =>
  !Number.isFinite(bytes)
    ? "–"
    : bytes >= 1_048_576
    ? `${(bytes / 1_048_576).toFixed(2)} MiB`
    : bytes >= 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${bytes} B`

// ---- the image mix (shared with the k6 scripts) ---------------------------------------------

export interface MixEntry {
  readonly name: string
  readonly weight: number
  /** The type the client declares when it is not the one the extension implies (a HEIC sent as image/jpeg). */
  readonly contentType?: string
  /** The error code the service must refuse this upload with (its renditions never come). */
  readonly refused?: string
}

type MixRow = readonly [string, number, { readonly content_type?: string; readonly refused?: string }?]

const isMixTable = (value: unknown): value is Record<string, ReadonlyArray<MixRow>> =>
  typeof value === "object" && value !== null &&
  Object.values(value).every((entries) =>
    Array.isArray(entries) &&
    entries.every((e) =>
      Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number" &&
      (e[2] === undefined || (typeof e[2] === "object" && e[2] !== null))
    )
  )

/** A preset of `loadtest/lib/mixes.json`: the load test and the bench measure the same photos. */
export const readMix = (preset: string): ReadonlyArray<MixEntry> => {
  const parsed: unknown = JSON.parse(readFileSync(join(repoRoot, "loadtest/lib/mixes.json"), "utf8"))
  if (!isMixTable(parsed)) throw new Error("loadtest/lib/mixes.json is not { preset: [[file, weight, extra?]] }")
  const entries = parsed[preset]
  if (entries === undefined) throw new Error(`no preset "${preset}" in loadtest/lib/mixes.json`)
  return entries.map(([name, weight, extra]) => ({
    name,
    weight,
    ...(extra?.content_type === undefined ? {} : { contentType: extra.content_type }),
    ...(extra?.refused === undefined ? {} : { refused: extra.refused })
  }))
}

/**
 * The mix's heaviest entries (by weight, the mix's order among equals) that together carry at least
 * `share` of its weight: a smaller set of photos for a measurement too slow to run on all of them.
 */
export const leadingEntries = (mix: ReadonlyArray<MixEntry>, share: number): ReadonlyArray<MixEntry> => {
  const total = mix.reduce((s, e) => s + e.weight, 0)
  const sorted = mix.map((e, i) => [e, i] as const).sort((a, b) => b[0].weight - a[0].weight || a[1] - b[1])
  const picked: Array<MixEntry> = []
  let carried = 0
  for (const [entry] of sorted) {
    if (total > 0 && carried / total >= share) break
    picked.push(entry)
    carried += entry.weight
  }
  return picked
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  tif: "image/tiff",
  tiff: "image/tiff"
}

export const contentTypeOf = (name: string): string =>
  CONTENT_TYPES[name.split(".").pop()?.toLowerCase() ?? ""] ?? "application/octet-stream"

// ---- processes --------------------------------------------------------------------------------

export { freePort } from "@imgpipe/core/util/net"

/** The command's path when it is on PATH (or is an existing path), else undefined. */
export const which = (command: string): string | undefined => {
  if (command.includes("/")) return existsSync(command) ? command : undefined
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, command)
    if (dir.length > 0 && existsSync(candidate)) return candidate
  }
  return undefined
}

/** Runs a command and returns its stdout, or undefined when it cannot run. */
export const tryRun = (command: string, args: ReadonlyArray<string>): string | undefined => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch {
    return undefined
  }
}

/** `taskset -c <cpu>` in front of a command when taskset exists and the machine has that core. */
export const pinned = (
  cpu: number | undefined,
  command: string,
  args: ReadonlyArray<string>
): [string, Array<string>] => {
  const taskset = which("taskset")
  return cpu === undefined || taskset === undefined
    ? [command, [...args]]
    : [taskset, ["-c", String(cpu), command, ...args]]
}

export interface Child {
  readonly process: ChildProcess
  readonly output: () => string
  /** SIGTERM, then SIGKILL after 10 s; resolves when it has exited. */
  readonly stop: () => Promise<void>
}

/** Children still running, stopped on exit so that no server outlives the bench. */
const children = new Set<ChildProcess>()

export const startChild = (
  command: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Child => {
  const child = spawn(command, [...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  const keep = (chunk: Buffer) => {
    // Keep the tail only: a chatty child must not grow the bench's memory.
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const exited = new Promise<void>((done) => child.once("exit", () => done()))
  child.once("exit", () => children.delete(child))
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

export const killChildren = (): void => {
  for (const child of children) child.kill("SIGKILL")
}

process.once("exit", killChildren)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren()
    process.exit(130)
  })
}

/** Waits until `url` answers 2xx, or fails with the child's output. */
export const waitReady = async (url: string, child: Child, timeoutMs = 90_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`exited early (${child.process.exitCode}):\n${child.output()}`)
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs / 1000} s:\n${child.output()}`)
    await sleep(200)
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined where
 * there is no /proc. Rates per CPU-second do not depend on what else the machine is running.
 */
export const cpuSeconds = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return ticks / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** USER_HZ: 100 on every Linux architecture Node ships for. */
const CLOCK_TICKS = Number(tryRun("getconf", ["CLK_TCK"])?.trim() ?? "100") || 100

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))

export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true })

/** `node --import tsx <entry>`: how `bun run start` runs TypeScript entries. */
export const tsxNode = (
  entry: string
): [string, Array<string>] => [process.execPath, ["--import", "tsx", join(repoRoot, entry)]]

/**
 * The environment `bun run start` gives the embedded runner: the `NAME=value` words in front of
 * package.json's start script (glibc allocator settings). Read from the script itself, so the
 * bench runs the runner exactly as a user does.
 */
export const startScriptEnv = (): Record<string, string> => {
  const manifest: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"))
  const scripts = typeof manifest === "object" && manifest !== null && "scripts" in manifest
    ? manifest.scripts
    : undefined
  const start = typeof scripts === "object" && scripts !== null && "start" in scripts ? scripts.start : undefined
  const env: Record<string, string> = {}
  for (const word of typeof start === "string" ? start.split(/\s+/) : []) {
    const match = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(word)
    if (match === null) break
    env[match[1] as string] = match[2] as string
  }
  return env
}

/** A Markdown table; `align` per column (`r`: right-aligned numbers), pipes in cells escaped. */
export const mdTable = (
  head: ReadonlyArray<string>,
  body: ReadonlyArray<ReadonlyArray<string>>,
  align?: ReadonlyArray<"l" | "r">
): string => {
  const sep = head.map((_, i) => (align?.[i] === "r" ? "---:" : "---"))
  return [head, sep, ...body].map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`).join("\n")
}
