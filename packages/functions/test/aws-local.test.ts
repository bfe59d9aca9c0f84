/**
 * `bun run start:aws-local` as a person runs it: a child process with the emulator, the exported
 * Lambda `handler`s and the ECS API entry (its own process), configured by environment variables
 * only. A photo goes through the HTTP API to `ready` and back out through `get_image`; SIGTERM
 * stops everything. On PostgreSQL (TEST_DATABASE_URL) it gets a fresh database as DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { type AwsLocal, poll, root, startAwsLocal } from "./support/aws-local.js"

const photo = new Uint8Array(
  readFileSync(resolve(root, "packages/core/test/fixtures/images/photo-1280x1024-grass-progressive.jpg"))
)

describe(`bun run start:aws-local (${testDatabaseKind})`, () => {
  let local: AwsLocal
  let api: string

  beforeAll(async () => {
    local = await startAwsLocal()
    api = local.api
  }, 150_000)

  afterAll(() => local?.stop(), 30_000)

  it(
    "takes a photo from POST /upload to ready and serves it with get_image; refuses a PUT of another type",
    async () => {
      const ticket = (await (
        await fetch(`${api}/upload`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content_type: "image/jpeg", content_length: photo.byteLength })
        })
      ).json()) as { image_id: string; upload: { url: string; headers: Record<string, string> } }
      const wrong = await fetch(ticket.upload.url, {
        method: "PUT",
        headers: { "content-type": "image/png" },
        body: photo
      })
      expect(wrong.status).toBe(403)
      const put = await fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: photo })
      expect(put.status).toBe(200)

      const status = await local.poll("ready", 60, async () => {
        const body = (await (await fetch(`${api}/images/${ticket.image_id}`)).json()) as { status: string }
        return body.status === "ready" ? body : undefined
      })
      expect(status).toMatchObject({
        status: "ready",
        renditions: { small: { status: "ready", width: 320, height: 256 } }
      })

      const redirect = await fetch(`${api}/get_image?image_id=${ticket.image_id}&image_size=small`, {
        redirect: "manual"
      })
      expect(redirect.status).toBe(302)
      const image = await fetch(redirect.headers.get("location") ?? "")
      expect(image.status).toBe(200)
      expect(image.headers.get("content-type")).toBe("image/jpeg")
      expect((await image.arrayBuffer()).byteLength).toBeGreaterThan(1000)
    },
    90_000
  )

  it("stops on SIGTERM, API included", async () => {
    const exited = new Promise<number | null>((done) => local.child.once("exit", (code) => done(code)))
    local.child.kill("SIGTERM")
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
