/**
 * A database outage strands nothing. The runner (a real process) reaches its database through a
 * TCP proxy this test controls: the test PostgreSQL server when TEST_DATABASE_URL is set, otherwise
 * a PGlite served by @electric-sql/pglite-socket in this process. Uploads are requested, the proxy
 * is cut for ~10 s while their PUTs happen (storage still answers 200), then restored: every image
 * must end `ready` without a restart.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import {
  contentTypeOf,
  fixture,
  getStatus,
  requestUpload,
  type UploadTicket,
  waitUntilSettled
} from "./support/client.js"
import { startTcpProxy } from "./support/proxy.js"
import { makeTestDatabase, startRunner } from "./support/runner.js"

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const IMAGES = [
  "photo-246x345.tiff",
  "exif-orientation-6.jpg",
  "photo-1280x1024-grass-progressive.jpg",
  "alpha-2048x1536-rgba.png"
]

/** The database behind the proxy: its address and a URL template (host:port replaced by the proxy's). */
const backend = async (): Promise<{ host: string; port: number; url: URL; env: Record<string, string> }> => {
  const database = await makeTestDatabase()
  if (database) {
    cleanups.push(database.drop)
    const url = new URL(database.url)
    return { host: url.hostname, port: Number(url.port || 5432), url, env: {} }
  }
  const db = await PGlite.create()
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 100 })
  await server.start()
  cleanups.push(async () => {
    await server.stop()
    await db.close()
  })
  const port = Number(server.getServerConn().split(":").pop())
  // One connection, as the embedded runner has over its own PGlite: the socket server runs one
  // statement at a time and does not keep the connections' implicit transactions apart.
  return {
    host: "127.0.0.1",
    port,
    url: new URL("postgres://postgres@127.0.0.1/postgres"),
    env: { IMGPIPE_DB_POOL_SIZE: "1" }
  }
}

describe("database outage", () => {
  it("uploads PUT during a 10 s outage all end ready once the database is back, without a restart", async () => {
    const target = await backend()
    const proxy = await startTcpProxy(target)
    cleanups.push(proxy.close)
    const url = new URL(target.url)
    url.hostname = "127.0.0.1"
    url.port = String(proxy.port)

    const runner = await startRunner({ databaseUrl: url.toString(), env: target.env })
    cleanups.push(async () => void (await runner.stop("SIGKILL")))

    const tickets = await Promise.all(
      IMAGES.map(async (name) => {
        const bytes = fixture(name)
        const res = await requestUpload(runner.baseUrl, {
          content_type: contentTypeOf(name),
          content_length: bytes.byteLength
        })
        expect(res.status).toBe(201)
        return { bytes, ticket: (await res.json()) as UploadTicket }
      })
    )

    proxy.cut()
    const outageStarted = Date.now()
    for (const { bytes, ticket } of tickets) {
      const put = await fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes })
      expect(put.status).toBe(200)
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - outageStarted))))
    proxy.restore()

    for (const { ticket } of tickets) {
      const status = await waitUntilSettled(runner.baseUrl, ticket.image_id, 60_000).catch(async (error: unknown) => {
        const now = await getStatus(runner.baseUrl, ticket.image_id).catch(String)
        throw new Error(`${String(error)}: ${JSON.stringify(now)}\n${runner.output()}`)
      })
      expect(status.status).toBe("ready")
    }
    expect(await runner.stop("SIGTERM"), runner.output()).toBe(0)
  }, 180_000)
})
