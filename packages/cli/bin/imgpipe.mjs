#!/usr/bin/env node
// The `imgpipe` command: the CLI's TypeScript run through tsx (a devDependency of the workspace),
// so a fresh clone works after `bun install` with no build step.
import { register } from "tsx/esm/api"

register()
await import("../src/main.ts")
