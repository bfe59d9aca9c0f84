/**
 * A webhook receiver for tests: a real node:http server on a loopback port that records every
 * request (headers and raw body) and answers the statuses it is given in turn (the last one
 * repeats). Closed when the scope closes.
 */
import { Effect, type Scope } from "effect"
import { createHmac } from "node:crypto"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface Receiver {
  readonly url: string
  readonly received: ReadonlyArray<ReceivedWebhook>
  /** The statuses answered from now on, in turn; the last one repeats. */
  readonly answer: (...statuses: ReadonlyArray<number>) => void
}

/** The receiver as a promise (for tests written with async functions); `close` stops it. */
export const startReceiver = async (): Promise<Receiver & { readonly close: () => Promise<void> }> => {
  const received: Array<ReceivedWebhook> = []
  let statuses: ReadonlyArray<number> = [200]
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
      const status = statuses[0] ?? 200
      if (statuses.length > 1) statuses = statuses.slice(1)
      response.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "not now")
    })
  })
  await new Promise<void>((listening) => {
    server.once("listening", () => listening())
    server.listen(0, "127.0.0.1")
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answer: (...next) => {
      statuses = next.length > 0 ? next : [200]
    },
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections()
        server.close(() => closed())
      })
  }
}

/** The receiver for an Effect test, closed when the scope closes. */
export const makeReceiver: Effect.Effect<Receiver, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(startReceiver),
  (receiver) => Effect.promise(receiver.close)
)

/**
 * Verifies `Imgpipe-Signature: t=<unix>,v1=<hex>` as docs/webhooks.md tells a receiver to:
 * HMAC-SHA256 of `"<t>.<raw body>"` with the secret, compared with v1.
 */
export const signatureValid = (secret: string, webhook: ReceivedWebhook): boolean => {
  const header = String(webhook.headers["imgpipe-signature"] ?? "")
  const parts = Object.fromEntries(header.split(",").map((part) => part.split("=", 2) as [string, string]))
  const t = parts["t"]
  const v1 = parts["v1"]
  if (t === undefined || v1 === undefined) return false
  return createHmac("sha256", secret).update(`${t}.${webhook.body}`).digest("hex") === v1
}
