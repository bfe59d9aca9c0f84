/** `bun run imgpipe -- <command>` / the `imgpipe` bin: the CLI on Node, exit code from `run`. */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { run } from "./cli.js"

NodeRuntime.runMain(run(process.argv).pipe(Effect.provide(NodeContext.layer)), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? Number(exit.value) : 1)
})
