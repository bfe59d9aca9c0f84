/**
 * A real webhook receiver for tests: a node:http server on 127.0.0.1 that records every request
 * (method, path, headers, raw body) and answers from a script of statuses (then `fallback`).
 * Also the documented signature check, taken from docs/webhooks.md itself, so the tests prove the
 * example a reader copies.
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders } from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import { resolve } from "node:path"

export interface ReceivedWebhook {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface Receiver {
  readonly url: string
  readonly port: number
  readonly requests: Array<ReceivedWebhook>
}

export interface ReceiverOptions {
  /** Statuses for the first requests, in order; then `fallback`. */
  readonly script?: ReadonlyArray<number>
  readonly fallback?: number
  /** Wait before answering (a slow receiver). */
  readonly delayMs?: number
  /** Extra headers on every answer (e.g. a redirect's location). */
  readonly headers?: Readonly<Record<string, string>>
}

/** Starts a receiver for the scope; `url` is `http://127.0.0.1:<port>/hook`. */
export const startReceiver = (options: ReceiverOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<{ receiver: Receiver; close: () => void }>((resume) => {
      const requests: Array<ReceivedWebhook> = []
      const script = [...(options.script ?? [])]
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          requests.push({
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8")
          })
          const status = script.shift() ?? options.fallback ?? 200
          setTimeout(() => {
            res.writeHead(status, { "content-type": "text/plain", ...options.headers })
            res.end(status < 300 ? "ok" : "no")
          }, options.delayMs ?? 0)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({
          receiver: { url: `http://127.0.0.1:${port}/hook`, port, requests },
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        }))
      })
    }),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ receiver }) => receiver))

const root = resolve(import.meta.dirname, "../../../..")

/** The fenced block after the `verify-example` marker in docs/webhooks.md. */
export const documentedVerifierSource = (): string => {
  const doc = readFileSync(resolve(root, "docs/webhooks.md"), "utf8")
  const match = /<!-- verify-example[^>]*-->\s*```js\n([\s\S]*?)```/.exec(doc)
  if (match?.[1] === undefined) throw new Error("docs/webhooks.md has no verify-example block")
  return match[1]
}

type Verifier = (rawBody: string, signatureHeader: string, secret: string, toleranceSeconds?: number) => boolean

/** Runs the documented example as a reader would (CommonJS `require` of node:crypto) and returns its function. */
export const documentedVerifier = (): Verifier => {
  const source = documentedVerifierSource()
  const name = /function (\w+)\(/.exec(source)?.[1]
  if (name === undefined) throw new Error("the verify example declares no function")

  const load = new Function("require", `${source}\nreturn ${name}`) as (require: NodeJS.Require) => Verifier
  return load(createRequire(import.meta.url))
}
