// @ts-check
/**
 * The embedded database's own thread: PGlite (PostgreSQL compiled to WebAssembly) and the socket
 * server that speaks the PostgreSQL wire protocol for it. PGlite runs every statement, and its file
 * writes, synchronously on the thread that owns it; here that is this worker thread, so the API and
 * the queue workers on the main thread never wait behind a query they did not send.
 *
 * Plain JavaScript on purpose: a worker thread is started from a file, and this one must load the
 * same way under tsx, vitest and plain Node. Started by `PgliteLive` (embedded.ts), which holds the
 * data directory's lock; protocol with the parent over `parentPort`:
 *   → { type: "ready", port } once listening on 127.0.0.1:<port>, or { type: "failed", message }
 *   ← { type: "stop" }  → { type: "stopped" } after the server is stopped and PGlite is closed.
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { parentPort, workerData } from "node:worker_threads"

const port = parentPort
if (port === null) throw new Error("pglite-thread.mjs runs only as a worker thread")

/** @type {{ dataDir: string | null }} */
const options = workerData

const message = (/** @type {unknown} */ error) => (error instanceof Error ? error.message : String(error))

/** @type {PGlite | undefined} */
let db
/** @type {PGLiteSocketServer | undefined} */
let server

const stop = async () => {
  try {
    if (server !== undefined) await server.stop()
  } catch {
    // Stopping a server that never finished starting: nothing to release.
  }
  try {
    if (db !== undefined && !db.closed) await db.close()
  } catch (error) {
    port.postMessage({ type: "failed", message: `closing the embedded database: ${message(error)}` })
  }
  port.postMessage({ type: "stopped" })
  port.close()
}

port.on("message", (/** @type {{ type: string }} */ msg) => {
  if (msg.type === "stop") void stop()
})

try {
  db = await PGlite.create(options.dataDir ?? "memory://", {
    // A new 16 MiB WAL segment is created sparse instead of written full of zeros: on this thread
    // that write would stall every query while the disk is busy with uploads. (PGlite already runs
    // with fsync off, so zero-filling buys no durability here.)
    startParams: [...PGlite.defaultStartParams, "-c", "wal_init_zero=off"]
  })
  server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    // The pool holds one connection; the slack of one more only absorbs a reconnect that races
    // the server's deferred clean-up of the previous socket ("Too many connections").
    maxConnections: 2
  })
  await server.start()
  const bound = Number.parseInt(server.getServerConn().split(":").pop() ?? "", 10)
  if (!Number.isInteger(bound) || bound <= 0) {
    throw new Error(`the PGlite socket server reported no port (${server.getServerConn()})`)
  }
  port.postMessage({ type: "ready", port: bound })
} catch (error) {
  port.postMessage({ type: "failed", message: message(error) })
}
