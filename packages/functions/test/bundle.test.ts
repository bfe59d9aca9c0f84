/**
 * DeliverWebhook's Lambda bundle, built as a Lambda build does it (esbuild: ESM, minified, Node
 * target, everything bundled but sharp): it must leave sharp and the S3 client out (its layers are
 * webhook-layers.ts, not layers.ts, so the function needs no native addon installed; infra
 * webhooks.ts installs none), stay small, and import in a fresh Node process from a folder with no
 * node_modules anywhere above it (what Lambda has), exporting `handler`, without contacting anything.
 */
import { describe, expect, it } from "@effect/vitest"
import { build, type Metafile } from "esbuild"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { promisify } from "node:util"

const root = resolve(import.meta.dirname, "../../..")

/** The bundle `sst deploy` uploads is built with the same options, as packages/bench/src/lambda.ts measures it. */
const bundle = async (entry: string, outfile: string): Promise<Metafile> =>
  (await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    metafile: true,
    logLevel: "silent",
    external: ["sharp"],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })).metafile

describe("DeliverWebhook's Lambda bundle", () => {
  it("leaves sharp and S3 out, stays under 1.5 MiB and imports with no node_modules", async () => {
    const dir = mkdtempSync(join(tmpdir(), "imgpipe-deliver-webhook-"))
    try {
      const outfile = join(dir, "deliver-webhook.mjs")
      const metafile = await bundle("packages/functions/src/deliver-webhook.ts", outfile)
      const inputs = Object.keys(metafile.inputs)
      expect(inputs.filter((input) => /node_modules\/(sharp|@img)\//.test(input))).toEqual([])
      expect(inputs.filter((input) => /@aws-sdk\/client-s3\//.test(input))).toEqual([])
      expect(inputs.filter((input) => /packages\/core\/src\/resizer\//.test(input))).toEqual([])
      // Nor is sharp left as an external import for the runtime to find.
      const imports = Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path))
      expect(imports.filter((path) => path.startsWith("sharp"))).toEqual([])
      expect(statSync(outfile).size).toBeLessThan(1.5 * 1024 * 1024)

      const script = `const m = await import(${JSON.stringify(`file://${outfile}`)}); ` +
        `process.stdout.write(typeof m.handler); process.exit(0)`
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
        cwd: dir,
        env: {
          PATH: process.env["PATH"] ?? "",
          AWS_REGION: "us-east-1",
          DATABASE_URL: "postgres://x@127.0.0.1:1/none"
        },
        timeout: 30_000
      })
      expect(stdout).toBe("function")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
