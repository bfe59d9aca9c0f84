/**
 * An HTTP proxy the test controls, in front of a runner: it records every request path, and
 * answers the paths a test refuses itself (e.g. `404` for `/images/{id}/events`, as a server
 * without the event stream would), so the client's fallbacks run against the real API.
 */
import { createServer, request as httpRequest } from "node:http"

export interface HttpProxy {
  readonly baseUrl: string
  /** `METHOD path?query` of every request, in order. */
  readonly seen: Array<string>
  /** The `Authorization` header of each request in `seen` (same order; "" when absent). */
  readonly authorizations: Array<string>
  /** Paths matching this answer `status` with a JSON error instead of reaching the runner. */
  readonly refuse: (pattern: RegExp, status: number) => void
  readonly close: () => Promise<void>
}

export const startHttpProxy = async (target: string): Promise<HttpProxy> => {
  const upstream = new URL(target)
  const seen: Array<string> = []
  const authorizations: Array<string> = []
  const refusals: Array<{ pattern: RegExp; status: number }> = []
  const server = createServer((req, res) => {
    const path = req.url ?? "/"
    seen.push(`${req.method} ${path}`)
    authorizations.push(req.headers.authorization ?? "")
    const refusal = refusals.find((r) => r.pattern.test(path))
    if (refusal !== undefined) {
      res.writeHead(refusal.status, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: "not_found", message: `refused by the test proxy: ${path}` }))
      return
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    forward.on("error", () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("proxy has no port")
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    seen,
    authorizations,
    refuse: (pattern, status) => refusals.push({ pattern, status }),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
  }
}
