/**
 * The embedded database's thread (src/sql/pglite-thread.mjs) on its own: an in-memory PGlite
 * behind the PostgreSQL wire protocol on 127.0.0.1, for a test that needs a server URL rather than
 * a layer (a child process, a client layer built from `DATABASE_URL`). No authentication: any
 * password is accepted, as on the test PostgreSQL's trust auth.
 */
import { Worker } from "node:worker_threads"

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable` */
  readonly url: string
  readonly stop: () => Promise<void>
}

export const startPgliteServer = (): Promise<PgliteServer> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL("../../src/sql/pglite-thread.mjs", import.meta.url), {
      workerData: { dataDir: null },
      execArgv: []
    })
    worker.on("message", (message: { readonly type: string; readonly port?: number; readonly message?: string }) => {
      if (message.type === "ready" && message.port !== undefined) {
        resolve({
          url: `postgres://postgres@127.0.0.1:${message.port}/postgres?sslmode=disable`,
          stop: () => worker.terminate().then(() => undefined)
        })
      }
      if (message.type === "failed") reject(new Error(message.message))
    })
    worker.on("error", reject)
  })

/**
 * A server URL without a password: `TEST_DATABASE_URL`'s server when set, else a fresh PGlite.
 * `stop` ends what was started (nothing for the shared server).
 */
export const testServerUrl = async (): Promise<PgliteServer> => {
  const server = (process.env["TEST_DATABASE_URL"] ?? "").trim()
  if (server.length === 0) return startPgliteServer()
  const url = new URL(server)
  url.password = ""
  return { url: url.toString(), stop: async () => {} }
}
