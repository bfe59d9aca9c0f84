/**
 * The ECS image's bundle, built with the esbuild command from packages/api/Dockerfile (read from
 * the file, so the test follows it), then started the way the image starts it: `node
 * --enable-source-maps dist/main.mjs` in a folder with no node_modules anywhere above it (the
 * runtime stage copies nothing else). It must answer /health and /ready against a real database
 * (TEST_DATABASE_URL's server, or PGlite's socket server) and stop cleanly on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type PgliteServer, testServerUrl } from "@imgpipe/core/test/support/pglite-server"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { promisify } from "node:util"

const root = resolve(import.meta.dirname, "../../..")
const dockerfile = readFileSync(join(root, "packages/api/Dockerfile"), "utf8")

/** The Dockerfile's esbuild RUN instruction, continuation lines joined. */
const esbuildCommand = (): string => {
  const run = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => /^RUN\s+node_modules\/\.bin\/esbuild\s/.test(line))
  if (run === undefined) throw new Error("packages/api/Dockerfile has no `RUN node_modules/.bin/esbuild …`")
  return run.replace(/^RUN\s+/, "")
}

/** What the runtime stage runs: `CMD ["node", …, "dist/main.mjs"]`. */
const cmd = (): ReadonlyArray<string> => {
  const line = dockerfile.split(/\r?\n/).find((l) => /^CMD\s/.test(l))
  if (line === undefined) throw new Error("packages/api/Dockerfile has no CMD")
  return JSON.parse(line.replace(/^CMD\s+/, "")) as Array<string>
}

/**
 * `require("x")`, `import("x")` and `from "x"` of packages (not Node built-ins, not relative) left
 * in the bundle. Each must be optional and guarded, since the image installs none.
 */
const OPTIONAL = new Set([
  "pg-native",
  "utf-8-validate",
  "bufferutil",
  "@aws-sdk/signature-v4-crt",
  "@aws-sdk/signature-v4a"
])
const PACKAGE_NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?$/
const externalImports = (code: string): ReadonlyArray<string> => {
  const builtins = new Set(builtinModules)
  const found = new Set<string>()
  const specifiers = [
    ...code.matchAll(/(?:\brequire\(|\bimport\()\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)
  ]
  for (const match of specifiers) {
    const name = match[1] ?? ""
    if (!PACKAGE_NAME.test(name)) continue
    if (name.startsWith("node:") || builtins.has(name) || builtins.has(name.split("/")[0] ?? "")) continue
    found.add(name)
  }
  return [...found].sort()
}

const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null
        ? resolvePort(address.port)
        : reject(new Error("no port")))
      )
    })
  })

const status = async (url: string): Promise<number> => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status
  } catch {
    return 0
  }
}

let work = ""
let database: PgliteServer | undefined
let child: ChildProcess | undefined

beforeAll(async () => {
  // Not under /tmp/…/node_modules, and nothing above it to resolve packages from.
  work = mkdtempSync(join(tmpdir(), "imgpipe-api-bundle-"))
  database = await testServerUrl()
})

afterAll(async () => {
  child?.kill("SIGKILL")
  await database?.stop()
  if (work.length > 0) rmSync(work, { recursive: true, force: true })
})

describe("the ECS image's bundle (packages/api/Dockerfile)", () => {
  it(
    "builds with the Dockerfile's esbuild command and imports no package the image lacks",
    { timeout: 60_000 },
    async () => {
      const command = esbuildCommand().replace(/--outfile=(\S+)/, (_, out: string) => `--outfile=${join(work, out)}`)
      await promisify(execFile)("sh", ["-c", command], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
      const bundle = join(work, "dist/main.mjs")
      expect(statSync(bundle).size).toBeGreaterThan(100_000)
      const code = readFileSync(bundle, "utf8")
      // Nothing of sharp or PGlite: they are external, so any import of them would show here.
      expect(externalImports(code).filter((name) => !OPTIONAL.has(name))).toEqual([])
      // The source map names the TypeScript files without carrying them.
      const map = JSON.parse(readFileSync(`${bundle}.map`, "utf8")) as {
        sources: Array<string>
        sourcesContent?: unknown
      }
      expect(map.sources.some((source) => source.endsWith("packages/api/src/main.ts"))).toBe(true)
      expect(map.sourcesContent).toBeUndefined()
    }
  )

  it("starts with no node_modules, answers /health and /ready, and stops on SIGTERM", { timeout: 60_000 }, async () => {
    for (let dir = work; dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, "node_modules")), `${dir}/node_modules would feed the bundle`).toBe(false)
    }
    const port = await freePort()
    const [node, ...args] = cmd()
    expect(node).toBe("node")
    const output: Array<string> = []
    child = spawn(process.execPath, args, {
      cwd: work,
      env: {
        PATH: process.env["PATH"] ?? "",
        NODE_ENV: "production",
        PORT: String(port),
        DATABASE_URL: database?.url ?? "",
        IMGPIPE_RAW_BUCKET: "raw-image-bundletest",
        IMGPIPE_PROCESSED_BUCKET: "processed-image-bundletest",
        IMGPIPE_CDN_URL: "https://d111111abcdef8.cloudfront.net",
        IMGPIPE_QUEUE_SMALL_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-small-image-bundletest",
        IMGPIPE_QUEUE_MEDIUM_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-medium-image-bundletest",
        IMGPIPE_QUEUE_LARGE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-large-image-bundletest",
        AWS_REGION: "us-east-1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()))
    child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()))
    const exited = new Promise<number | null>((resolveExit) => child?.once("exit", (code) => resolveExit(code)))

    const base = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 30_000
    while ((await status(`${base}/health`)) !== 200) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`the bundle did not start:\n${output.join("")}`)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(await status(`${base}/ready`)).toBe(200)

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(output.join("")).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/)
  })
})
