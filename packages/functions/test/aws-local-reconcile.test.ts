/**
 * `bun run start:aws-local` runs the Reconcile handler on its emulated schedule: with short
 * settings (upload URLs valid 1 s, no grace, a tick every second), an upload that never arrives
 * ends `expired` and `get_image` answers 404, as the `Reconcile` cron makes it in AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"
import { freePort } from "../../core/src/util/net.js"
import { testDatabaseKind } from "../../core/test/support/database.js"
import { makeTestDatabase } from "../../local/test/support/runner.js"

const root = resolve(import.meta.dirname, "../../..")

const poll = async <A>(what: string, seconds: number, attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await attempt().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe(`bun run start:aws-local reconciles (${testDatabaseKind})`, () => {
  let child: ChildProcess
  let api: string
  let output = ""
  let database: Awaited<ReturnType<typeof makeTestDatabase>>

  beforeAll(async () => {
    const [apiPort, awsPort] = [await freePort(), await freePort()]
    database = await makeTestDatabase()
    api = `http://127.0.0.1:${apiPort}`
    child = spawn(process.execPath, ["--import", "tsx", "packages/functions/src/local/aws-local.ts"], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(apiPort),
        FAUXQS_PORT: String(awsPort),
        IMGPIPE_SQS_WAIT_SECONDS: "1",
        IMGPIPE_LOG_LEVEL: "Info",
        IMGPIPE_UPLOAD_URL_TTL_SECONDS: "1",
        IMGPIPE_EXPIRE_GRACE_SECONDS: "0",
        IMGPIPE_RECONCILE_EVERY_SECONDS: "1",
        DATABASE_URL: database?.url ?? ""
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    await poll("the API's /health", 120, async () => ((await fetch(`${api}/health`)).ok ? true : undefined)).catch((error) => {
      throw new Error(`${String(error)}\n${output}`)
    })
  }, 150_000)

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once("exit", done))
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
    await database?.drop()
  }, 30_000)

  it("an upload that never arrives ends expired; get_image answers 404", async () => {
    const ticket = (await (
      await fetch(`${api}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: "image/png", content_length: 1000 })
      })
    ).json()) as { image_id: string }

    const status = await poll("expired", 30, async () => {
      const body = (await (await fetch(`${api}/images/${ticket.image_id}`)).json()) as { status: string }
      return body.status === "expired" ? body : undefined
    }).catch((error) => {
      throw new Error(`${String(error)}\n${output}`)
    })
    expect(status.status).toBe("expired")
    const answer = await fetch(`${api}/get_image?image_id=${ticket.image_id}&image_size=small`, { redirect: "manual" })
    expect(answer.status).toBe(404)
    expect(output).toMatch(/reconcile: done/)
  }, 60_000)
})
