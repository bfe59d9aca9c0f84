/**
 * An HTTP client that streams a large body from a generator (one reused chunk, so the test itself
 * allocates nothing near the body's size), honours back-pressure, and stops sending as soon as the
 * server answers, as a well-behaved client does when it is refused early.
 */
import { request } from "node:http"

export interface StreamedAnswer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
  readonly bytesSent: number
  readonly elapsedMs: number
}

export const MiB = 1024 * 1024

/** `total` bytes of `chunkSize`-byte chunks; every chunk is the same buffer. */
export function* chunks(total: number, chunkSize = 64 * 1024): Generator<Buffer> {
  const chunk = Buffer.alloc(chunkSize, 0x20)
  for (let sent = 0; sent < total; sent += chunkSize) {
    yield sent + chunkSize <= total ? chunk : chunk.subarray(0, total - sent)
  }
}

/**
 * POSTs (or `method`) the generator's bytes to `url`: chunked, or with `Content-Length: declared`.
 * Resolves with the answer; rejects if the connection fails before any answer or after `timeoutMs`.
 */
export const streamBody = (
  url: string,
  body: Iterable<Buffer>,
  options: {
    readonly method?: string
    readonly headers?: Record<string, string>
    readonly declaredLength?: number
    readonly timeoutMs?: number
  } = {}
): Promise<StreamedAnswer> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers }
    if (options.declaredLength !== undefined) headers["content-length"] = String(options.declaredLength)
    const req = request(url, { method: options.method ?? "POST", headers, agent: false })
    const iterator = body[Symbol.iterator]()
    let bytesSent = 0
    let answered = false
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms (${bytesSent} bytes sent)`))
    }, options.timeoutMs ?? 30_000)
    const pump = () => {
      while (!answered) {
        const next = iterator.next()
        if (next.done === true) {
          req.end()
          return
        }
        bytesSent += next.value.length
        if (!req.write(next.value)) {
          req.once("drain", pump)
          return
        }
      }
    }
    req.on("response", (res) => {
      answered = true
      const parts: Array<Buffer> = []
      res.on("data", (part: Buffer) => parts.push(part))
      res.on("end", () => {
        clearTimeout(timer)
        req.destroy()
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts).toString("utf8"),
          bytesSent,
          elapsedMs: Date.now() - started
        })
      })
      res.on("error", (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
    req.on("error", (error) => {
      if (answered) return
      clearTimeout(timer)
      reject(new Error(`${error.message} (${bytesSent} bytes sent, no answer)`))
    })
    pump()
  })
