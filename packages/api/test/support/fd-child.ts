/**
 * A child process for the readiness test: the ECS API (as `makeApiLive` composes it, over the test
 * database) on a free port; commands on stdin, answers on stdout, one line each:
 * `exhaust` opens the null device until the process hits its open-files limit and keeps every
 * descriptor (answers `exhausted <count> <code>`), `release` closes them again (`released`).
 * Run it under a low `ulimit -n` so exhausting takes milliseconds.
 */
import { Effect, Layer } from "effect"
import { closeSync, openSync } from "node:fs"
import { devNull } from "node:os"
import { createInterface } from "node:readline"
import { EcsServer, makeEcsServer, TestDatabase } from "./ecs.js"

const held: Array<number> = []

const exhaust = (): string => {
  for (;;) {
    try {
      held.push(openSync(devNull, "r"))
    } catch (error) {
      const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "?"
      return `exhausted ${held.length} ${code}`
    }
  }
}

const release = (): string => {
  for (const fd of held.splice(0)) closeSync(fd)
  return "released"
}

const main = Effect.gen(function* () {
  const { baseUrl } = yield* EcsServer
  process.stdout.write(`listening ${baseUrl}\n`)
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => {
    process.stdout.write(`${line.trim() === "exhaust" ? exhaust() : release()}\n`)
  })
  lines.on("close", () => process.exit(0))
  return yield* Effect.never
}).pipe(Effect.provide(makeEcsServer().pipe(Layer.provideMerge(TestDatabase))))

Effect.runFork(main)
