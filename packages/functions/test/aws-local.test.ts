/**
 * `bun run start:aws-local` as a person runs it: a child process with the emulator, the exported
 * Lambda `handler`s and the ECS API entry (its own process), configured by environment variables
 * only. A photo goes through the HTTP API to `ready` and back out through `get_image`; SIGTERM
 * stops everything. On PostgreSQL (TEST_DATABASE_URL) it gets a fresh database as DATABASE_URL.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { freePort } from "../../core/src/util/net.js"
import { resolve } from "node:path"
import { testDatabaseKind } from "../../core/test/support/database.js"

const root = resolve(import.meta.dirname, "../../..")
const photo = new Uint8Array(readFileSync(resolve(root, "packages/core/test/fixtures/images/photo-1280x1024-grass-progressive.jpg")))

/** A fresh database on the TEST_DATABASE_URL server (and how to drop it), or none for PGlite. */
const testDatabase = async (): Promise<{ url: string; drop: () => Promise<void> } | undefined> => {
  const server = process.env["TEST_DATABASE_URL"]?.trim()
  if (server === undefined || server.length === 0) return undefined
  const name = `imgpipe_awslocal_${randomBytes(5).toString("hex")}`
  const admin = (statement: (sql: PgClient.PgClient) => Effect.Effect<unknown, unknown>) =>
    Effect.runPromise(
      Effect.scoped(Effect.flatMap(PgClient.make({ url: Redacted.make(server), maxConnections: 1 }), statement)).pipe(
        Effect.provide(Reactivity.layer)
      )
    )
  await admin((sql) => sql`CREATE DATABASE ${sql(name)}`)
  const url = new URL(server)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`).then(() => undefined) }
}

const poll = async <A>(what: string, seconds: number, attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await attempt().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe(`bun run start:aws-local (${testDatabaseKind})`, () => {
  let child: ChildProcess
  let api: string
  let output = ""
  let database: Awaited<ReturnType<typeof testDatabase>>

  beforeAll(async () => {
    const [apiPort, awsPort] = [await freePort(), await freePort()]
    database = await testDatabase()
    api = `http://127.0.0.1:${apiPort}`
    child = spawn(process.execPath, ["--import", "tsx", "packages/functions/src/local/aws-local.ts"], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(apiPort),
        FAUXQS_PORT: String(awsPort),
        IMGPIPE_SQS_WAIT_SECONDS: "1",
        IMGPIPE_LOG_LEVEL: "Warn",
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
    if (child.exitCode === null) {
      child.kill("SIGKILL")
    }
    await database?.drop()
  })

  it("takes a photo from POST /upload to ready and serves it with get_image; refuses a PUT of another type", async () => {
    const ticket = (await (
      await fetch(`${api}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: "image/jpeg", content_length: photo.byteLength })
      })
    ).json()) as { image_id: string; upload: { url: string; headers: Record<string, string> } }
    const wrong = await fetch(ticket.upload.url, { method: "PUT", headers: { "content-type": "image/png" }, body: photo })
    expect(wrong.status).toBe(403)
    const put = await fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: photo })
    expect(put.status).toBe(200)

    const status = await poll("ready", 60, async () => {
      const body = (await (await fetch(`${api}/images/${ticket.image_id}`)).json()) as { status: string }
      return body.status === "ready" ? body : undefined
    }).catch((error) => {
      throw new Error(`${String(error)}\n${output}`)
    })
    expect(status).toMatchObject({ status: "ready", renditions: { small: { status: "ready", width: 320, height: 256 } } })

    const redirect = await fetch(`${api}/get_image?image_id=${ticket.image_id}&image_size=small`, { redirect: "manual" })
    expect(redirect.status).toBe(302)
    const image = await fetch(redirect.headers.get("location") ?? "")
    expect(image.status).toBe(200)
    expect(image.headers.get("content-type")).toBe("image/jpeg")
    expect((await image.arrayBuffer()).byteLength).toBeGreaterThan(1000)
  }, 90_000)

  it("stops on SIGTERM, API included", async () => {
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    child.kill("SIGTERM")
    const code = await exited
    expect([0, 143, null]).toContain(code)
    await poll("the API to stop", 15, async () => {
      try {
        await fetch(`${api}/health`)
        return undefined
      } catch {
        return true
      }
    })
  }, 30_000)
})
