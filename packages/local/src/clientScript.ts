/**
 * `/client.js` for the upload page (./page.ts): `@imgpipe/client` and ThumbHash's decoder bundled
 * for the browser by esbuild, in memory on the first request.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { build, type Plugin } from "esbuild"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * `@imgpipe/client`'s browser entry as one script (global `imgpipe`), as any bundler would build
 * it for a browser app, with `thumbHashToDataURL` (npm `thumbhash`) for the placeholders. Node-only modules that the contract's imports reach but the client never
 * calls (core's index re-exports server use cases) are left out: workspace sources are declared
 * free of side effects, so esbuild drops what nothing uses, and whatever Node import would remain
 * fails the build instead of reaching the browser.
 */
const here = dirname(fileURLToPath(import.meta.url))

const serverOnlyOut: Plugin = {
  name: "server-only-out",
  setup(build) {
    build.onResolve({ filter: /^(node:|@effect\/platform-node)/ }, (args) => ({
      path: args.path,
      external: true,
      sideEffects: false
    }))
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === "resolved") return undefined
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: "resolved"
      })
      if (resolved.errors.length > 0) return { errors: resolved.errors }
      const workspace = /[\\/]packages[\\/][^\\/]+[\\/]src[\\/]/.test(resolved.path)
      return { path: resolved.path, external: resolved.external, sideEffects: workspace ? false : resolved.sideEffects }
    })
  }
}

export const buildClientScript: Effect.Effect<string, Error> = Effect.tryPromise({
  try: async () => {
    const result = await build({
      stdin: {
        contents: "export { createClient, ImgpipeError } from \"@imgpipe/client\"\n" +
          "export { thumbHashToDataURL } from \"thumbhash\"",
        resolveDir: here,
        loader: "ts"
      },
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "imgpipe",
      minify: true,
      write: false,
      plugins: [serverOnlyOut],
      logLevel: "silent"
    })
    const code = result.outputFiles[0]?.text ?? ""
    const leftover = /\brequire\(\s*["'](node:[^"']+|@effect\/platform-node[^"']*)["']/.exec(code)
    if (leftover !== null) throw new Error(`the client's browser build still needs ${leftover[1]}`)
    return code
  },
  catch: (cause) => (cause instanceof Error ? cause : new Error(String(cause)))
})

/** `GET /client.js`: built on the first request, then served from memory. */
export const makeClientScriptRoute = Effect.map(Effect.cached(buildClientScript), (script) =>
  script.pipe(
    Effect.map((code) =>
      HttpServerResponse.text(code, {
        contentType: "text/javascript; charset=utf-8",
        headers: { "cache-control": "no-cache" }
      })
    ),
    Effect.catchAll((error) =>
      Effect.logError("the upload page's client script did not build", error).pipe(
        Effect.as(
          HttpServerResponse.text(
            `console.error(${JSON.stringify(`imgpipe: /client.js did not build: ${error.message}`)})`,
            {
              status: 500,
              contentType: "text/javascript; charset=utf-8"
            }
          )
        )
      )
    )
  ))
