/**
 * Runs the CLI in this process (`run` from src/cli.ts) the way its `main.ts` does, with what it
 * prints captured: stdout and stderr as text, the exit code it returns, and the environment it
 * reads given as a map (not this process's). Real HTTP, real files; only the terminal is swapped.
 */
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Console, Effect } from "effect"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import { run } from "../../src/cli.js"

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const sink = (chunks: Array<string>) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString())
      done()
    }
  })

/** An Effect `Console` that writes through a Node console on the given streams. */
const consoleOn = (unsafe: InstanceType<typeof NodeConsole>): Console.Console => {
  const sync = (f: () => void) => Effect.sync(f)
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => sync(() => unsafe.assert(condition, ...args)),
    clear: sync(() => unsafe.clear()),
    count: (label) => sync(() => unsafe.count(label)),
    countReset: (label) => sync(() => unsafe.countReset(label)),
    debug: (...args) => sync(() => unsafe.debug(...args)),
    dir: (item, options) => sync(() => unsafe.dir(item, options)),
    dirxml: (...args) => sync(() => unsafe.dirxml(...args)),
    error: (...args) => sync(() => unsafe.error(...args)),
    group: (options) =>
      sync(() => (options?.collapsed ? unsafe.groupCollapsed(options.label) : unsafe.group(options?.label))),
    groupEnd: sync(() => unsafe.groupEnd()),
    info: (...args) => sync(() => unsafe.info(...args)),
    log: (...args) => sync(() => unsafe.log(...args)),
    table: (data, properties) => sync(() => unsafe.table(data, properties)),
    time: (label) => sync(() => unsafe.time(label)),
    timeEnd: (label) => sync(() => unsafe.timeEnd(label)),
    timeLog: (label, ...args) => sync(() => unsafe.timeLog(label, ...args)),
    trace: (...args) => sync(() => unsafe.trace(...args)),
    warn: (...args) => sync(() => unsafe.warn(...args)),
    unsafe
  }
}

/** `imgpipe …args` in-process, reading its settings from `env` only. */
export const runCli = async (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>
): Promise<CliResult> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const unsafe = new NodeConsole({ stdout: sink(out), stderr: sink(err), colorMode: false })
  const code = await Effect.runPromise(
    run(["node", "imgpipe", ...args]).pipe(
      Effect.withConsole(consoleOn(unsafe)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer)
    )
  )
  return { code, stdout: out.join(""), stderr: err.join("") }
}
