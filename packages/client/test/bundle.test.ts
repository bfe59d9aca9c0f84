/**
 * The browser build: `@imgpipe/client` bundled by esbuild for the browser (the `browser` export
 * condition, as any bundler picks it) must not pull in a `node:` module or a server-only package,
 * and the bundle must run: it is loaded as a module and its client builds URLs and fails a call
 * with a typed error.
 */
import { build } from "esbuild"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../../..")
const scratch = mkdtempSync(join(tmpdir(), "imgpipe-client-bundle-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("browser bundle", () => {
  it("has no Node built-in or server-only package, and runs", async () => {
    const entry = join(scratch, "entry.ts")
    writeFileSync(entry, "export { createClient, ImgpipeError } from \"@imgpipe/client\"\n")
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: root,
      nodePaths: [join(root, "node_modules")],
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent"
    })
    const inputs = Object.keys(result.metafile.inputs)
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path))
    expect(imports.filter((path) => builtins.has(path))).toEqual([])
    for (
      const serverOnly of ["sharp", "@effect/sql", "@aws-sdk", "@electric-sql", "platform-node", "client/src/node.ts"]
    ) {
      expect(inputs.filter((path) => path.includes(serverOnly))).toEqual([])
    }
    const code = result.outputFiles[0]!.text
    expect(code.length).toBeLessThan(1_000_000) // minified; about half of it is Effect
    const file = join(scratch, "bundle.mjs")
    writeFileSync(file, code)
    const bundle = (await import(pathToFileURL(file).href)) as typeof import("../src/index.js")
    const client = bundle.createClient({ baseUrl: "http://127.0.0.1:1/" })
    expect(client.getImageUrl("0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10", "small")).toBe(
      "http://127.0.0.1:1/get_image?image_id=0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10&image_size=small"
    )
    const byPath = await client.upload("/etc/hostname").catch((e: unknown) => e)
    expect(byPath).toBeInstanceOf(bundle.ImgpipeError)
    expect(byPath).toMatchObject({ code: "unsupported" })
  })
})
