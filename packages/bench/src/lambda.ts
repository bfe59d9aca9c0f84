/**
 * Section 4: what a Lambda cold start pays before the first event — the size of each handler's
 * bundle (what Lambda downloads and unzips) and the time to import it in a fresh Node process
 * (parse, compile and run every module's top level). Layers are built on the first invocation, not
 * at import, so a database or S3 is never contacted here.
 *
 * Bundled with esbuild the way a Lambda build does it (ESM, minified, Node target), with `sharp`
 * external: its native library ships beside the bundle, not inside it. Entries that do not exist
 * yet are reported as missing.
 */
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"
import { median, progress, removeDir, repoRoot } from "./util.js"

export interface LambdaResult {
  readonly name: string
  readonly entry: string
  readonly missing: boolean
  readonly error?: string
  readonly bytes?: number
  readonly gzipBytes?: number
  readonly importMs?: number
  /** CPU ms of the import (robust to other load on the machine). */
  readonly importCpuMs?: number
  /** The heaviest inputs of the bundle, by bytes in the output. */
  readonly heaviest?: ReadonlyArray<{ readonly input: string; readonly bytes: number }>
}

export interface LambdaSection {
  readonly handlers: ReadonlyArray<LambdaResult>
  readonly nodeStartMs: number
  readonly runs: number
}

const ENTRIES = [
  { name: "StartProcessing", entry: "packages/functions/src/start-processing.ts" },
  { name: "ProcessImage", entry: "packages/functions/src/process-image.ts" },
  { name: "Reconcile", entry: "packages/functions/src/reconcile.ts" },
  { name: "DeliverWebhook", entry: "packages/functions/src/deliver-webhook.ts" }
] as const

// Inside the repository so the bundle resolves `sharp` from node_modules like a deployed function
// finds it beside the handler; node_modules/.cache is ignored by git.
const OUT_DIR = join(repoRoot, "node_modules/.cache/imgpipe-bench/lambda")

/** Wall and CPU ms of `import(file)` in a fresh `node`, measured inside that process. */
const importTime = (file: string): { wall: number; cpu: number } => {
  const script =
    `const c = process.cpuUsage(); const t = performance.now(); await import(${
      JSON.stringify(pathToFileURL(file).href)
    }); ` +
    `const u = process.cpuUsage(c); process.stdout.write(JSON.stringify({ wall: performance.now() - t, cpu: (u.user + u.system) / 1000 })); process.exit(0)`
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: OUT_DIR,
    encoding: "utf8",
    env: {
      ...process.env,
      // What the function's configuration would set; nothing is contacted during import.
      AWS_REGION: "us-east-1",
      DATABASE_URL: "postgres://bench@127.0.0.1:1/none",
      IMGPIPE_RAW_BUCKET: "raw-image-bench",
      IMGPIPE_PROCESSED_BUCKET: "processed-image-bench"
    }
  })
  const parsed: unknown = JSON.parse(out)
  if (typeof parsed === "object" && parsed !== null && "wall" in parsed && "cpu" in parsed) {
    return { wall: Number(parsed.wall), cpu: Number(parsed.cpu) }
  }
  throw new Error(`unexpected output: ${out}`)
}

/** Wall time of `node -e ''`: the runtime's own start, for scale. */
const nodeStart = (): number => {
  const start = performance.now()
  execFileSync(process.execPath, ["-e", ""])
  return performance.now() - start
}

export const runLambdaSection = async (runs: number): Promise<LambdaSection> => {
  removeDir(OUT_DIR)
  mkdirSync(OUT_DIR, { recursive: true })
  const handlers: Array<LambdaResult> = []
  for (const { name, entry } of ENTRIES) {
    const path = join(repoRoot, entry)
    if (!existsSync(path)) {
      progress(`lambda: ${entry} does not exist yet; skipped`)
      handlers.push({ name, entry, missing: true })
      continue
    }
    const outfile = join(OUT_DIR, `${name}.mjs`)
    try {
      const result = await build({
        entryPoints: [path],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        minify: true,
        metafile: true,
        logLevel: "silent",
        external: ["sharp"],
        // CommonJS dependencies (pg, the AWS SDK's pieces) call require(); give the ESM bundle one.
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
      })
      const output = Object.values(result.metafile.outputs)[0]
      const heaviest = Object.entries(output?.inputs ?? {})
        .map(([input, info]) => ({ input: input.replace(/^.*node_modules\//, ""), bytes: info.bytesInOutput }))
        .reduce((acc, item) => {
          // Group by package (or by workspace folder) so the list says which dependency weighs.
          const key = item.input.startsWith("@")
            ? item.input.split("/").slice(0, 2).join("/")
            : item.input.startsWith("packages/")
            ? item.input.split("/").slice(0, 2).join("/")
            : item.input.split("/")[0] ?? item.input
          acc.set(key, (acc.get(key) ?? 0) + item.bytes)
          return acc
        }, new Map<string, number>())
      const bytes = statSync(outfile).size
      const gzipBytes = gzipSync(readFileSync(outfile)).byteLength
      const times: Array<{ wall: number; cpu: number }> = []
      for (let i = 0; i < runs; i++) times.push(importTime(outfile))
      const importMs = median(times.map((t) => t.wall))
      const importCpuMs = median(times.map((t) => t.cpu))
      progress(
        `lambda: ${name}: ${(bytes / 1024).toFixed(0)} KiB (${(gzipBytes / 1024).toFixed(0)} KiB gzip), import ${
          importMs.toFixed(0)
        } ms (${importCpuMs.toFixed(0)} ms CPU)`
      )
      handlers.push({
        name,
        entry,
        missing: false,
        bytes,
        gzipBytes,
        importMs,
        importCpuMs,
        heaviest: [...heaviest.entries()].map(([input, b]) => ({ input, bytes: b })).sort((a, b) => b.bytes - a.bytes)
          .slice(0, 6)
      })
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n").slice(0, 3).join(" ") : String(error)
      progress(`lambda: ${name} could not be bundled or imported: ${message}`)
      handlers.push({ name, entry, missing: false, error: message })
    }
  }
  const starts: Array<number> = []
  for (let i = 0; i < runs; i++) starts.push(nodeStart())
  return { handlers, nodeStartMs: median(starts), runs }
}
