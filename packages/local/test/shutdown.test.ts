/**
 * A stop finishes in bounded time whatever is in flight. A client starts an upload with a large
 * declared Content-Length, sends half and stalls (the socket the hostile run left in CLOSE-WAIT):
 * - SIGTERM: the runner exits within IMGPIPE_SHUTDOWN_GRACE_SECONDS + 5 s, and a restart on the
 *   same data directory is not blocked by its lock;
 * - a second SIGTERM during the stop exits at once, with 143.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { requestUpload, type UploadTicket } from "./support/client.js"
import { exitWithin, makeTestDatabase, removeDir, type Runner, startRunner } from "./support/runner.js"

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const DECLARED = 20 * 1024 * 1024

/** Opens a PUT of DECLARED bytes to a fresh upload URL, sends half of them, and stalls. */
const stalledUpload = async (runner: Runner): Promise<Socket> => {
  const res = await requestUpload(runner.baseUrl, { content_type: "image/jpeg", content_length: DECLARED })
  expect(res.status).toBe(201)
  const ticket = (await res.json()) as UploadTicket
  const url = new URL(ticket.upload.url)
  const socket = connect(Number(url.port), url.hostname)
  socket.on("error", () => {}) // the server cuts it: expected
  cleanups.push(() => void socket.destroy())
  await new Promise<void>((done) => socket.once("connect", () => done()))
  socket.write(
    `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: image/jpeg\r\n` +
      `Content-Length: ${DECLARED}\r\n\r\n`
  )
  await new Promise<void>((done) => socket.write(Buffer.alloc(DECLARED / 2, 0xff), () => done()))
  // Let the server start reading the body.
  await new Promise((r) => setTimeout(r, 500))
  return socket
}

const setup = async (grace: number) => {
  const database = await makeTestDatabase()
  if (database) cleanups.push(database.drop)
  const dataDir = mkdtempSync(join(tmpdir(), "imgpipe-stop-"))
  cleanups.push(() => removeDir(dataDir))
  const base = { dataDir, ...(database ? { databaseUrl: database.url } : {}) }
  const env = { IMGPIPE_SHUTDOWN_GRACE_SECONDS: String(grace) }
  return { base, env }
}

describe("graceful stop", () => {
  it("SIGTERM with an upload stalled mid-body: exits within grace + 5 s; a restart is not blocked", async () => {
    const grace = 2
    const { base, env } = await setup(grace)
    const runner = await startRunner({ ...base, env })
    cleanups.push(async () => void (await runner.stop("SIGKILL")))
    await stalledUpload(runner)

    const started = Date.now()
    runner.process.kill("SIGTERM")
    const code = await exitWithin(runner, (grace + 5) * 1000)
    const elapsed = Date.now() - started
    expect(code, `${elapsed} ms\n${runner.output()}`).toBe(0)
    expect(elapsed).toBeLessThan((grace + 5) * 1000)

    const again = await startRunner({ ...base, env })
    expect(await again.stop("SIGTERM"), again.output()).toBe(0)
  }, 180_000)

  it("a second SIGTERM during the stop exits at once with 143", async () => {
    const { base, env } = await setup(60)
    const runner = await startRunner({ ...base, env })
    cleanups.push(async () => void (await runner.stop("SIGKILL")))
    await stalledUpload(runner)

    runner.process.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 1000))
    expect(runner.process.exitCode, runner.output()).toBeNull() // still waiting for the upload
    const started = Date.now()
    runner.process.kill("SIGTERM")
    const code = await exitWithin(runner, 3000)
    expect(code, `${Date.now() - started} ms\n${runner.output()}`).toBe(143)
  }, 180_000)
})
