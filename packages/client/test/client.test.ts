/**
 * The client against a live embedded runner (a real process, real HTTP): uploads of bytes, a Blob
 * and a file path; waiting through the event stream and through the polling fallback (a proxy
 * answers 404 for the events, as a server without them would); a failed image; the API's errors
 * as `ImgpipeError`s; the public image URL; the Effect style; the admin calls.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { fixture, fixturesDir } from "@imgpipe/local/test/support/client"
import { makeTestDatabase, removeDir, type Runner, startRunner } from "@imgpipe/local/test/support/runner"
import { Effect } from "effect"
import { join } from "node:path"
import { createClient, ImgpipeClient, ImgpipeError } from "../src/node.js"
import { type HttpProxy, startHttpProxy } from "./support/httpProxy.js"

let runner: Runner
let database: Awaited<ReturnType<typeof makeTestDatabase>>
let proxy: HttpProxy

beforeAll(async () => {
  database = await makeTestDatabase()
  const env = { IMGPIPE_ADMIN_KEYS: ADMIN_KEY }
  runner = await startRunner(database ? { databaseUrl: database.url, env } : { env })
  proxy = await startHttpProxy(runner.baseUrl)
})

afterAll(async () => {
  await proxy?.close()
  const code = await runner?.stop("SIGTERM")
  expect(code).toBe(0)
  removeDir(runner.dataDir)
  await database?.drop()
})

const ADMIN_KEY = "admin-key-for-the-client-test"
const UNKNOWN_ID = "0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10"
const PHOTO = "photo-1280x1024-grass-progressive.jpg"

/** The error a promise rejects with (fails the test when it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<ImgpipeError> => {
  const outcome = await promise.then(() => undefined, (e: unknown) => e)
  expect(outcome).toBeInstanceOf(ImgpipeError)
  return outcome as ImgpipeError
}

describe("Promise client", () => {
  it("uploads bytes and waits until ready through the event stream", async () => {
    const client = createClient({ baseUrl: proxy.baseUrl })
    const id = await client.upload(fixture(PHOTO))
    const seen: Array<string> = []
    const ready = await client.waitUntilReady(id, { timeoutMs: 60_000, onStatus: (s) => seen.push(s.status) })
    expect(ready.image_id).toBe(id)
    expect(ready.status).toBe("ready")
    expect(ready.renditions.medium).toMatchObject({ status: "ready", width: 1024, height: 819 })
    expect(ready.original?.content_type).toBe("image/jpeg")
    expect(seen.at(-1)).toBe("ready")
    // The events carried it: one stream opened, no status polls.
    expect(proxy.seen).toContain(`GET /images/${id}/events`)
    expect(proxy.seen.filter((line) => line === `GET /images/${id}`)).toEqual([])
    expect(await client.status(id)).toMatchObject({ image_id: id, status: "ready" })
  })

  it("falls back to polling when the server has no event stream", async () => {
    const client = createClient({ baseUrl: proxy.baseUrl })
    proxy.refuse(/^\/images\/[^/]+\/events/, 404)
    const id = await client.upload(new Blob([fixture("photo-1024x772.webp")], { type: "image/webp" }))
    const ready = await client.waitUntilReady(id, { timeoutMs: 60_000 })
    expect(ready.status).toBe("ready")
    expect(ready.original?.content_type).toBe("image/webp")
    expect(proxy.seen.filter((line) => line === `GET /images/${id}`).length).toBeGreaterThan(0)
  })

  it("uploads a file by path, its type from the extension, reporting byte progress", async () => {
    const client = createClient({ baseUrl: runner.baseUrl })
    const progress: Array<[number, number]> = []
    const path = join(fixturesDir, "rgb16-290x442.png")
    const id = await client.upload(path, { onProgress: (sent, total) => progress.push([sent, total]) })
    const total = fixture("rgb16-290x442.png").byteLength
    expect(progress.at(-1)).toEqual([total, total])
    const ready = await client.waitUntilReady(id, { timeoutMs: 60_000 })
    expect(ready.original?.content_type).toBe("image/png")
    expect(ready.renditions.small).toMatchObject({ status: "ready", width: 210, height: 320 })
  })

  it("rejects with the image's error when it fails, and with not_found for an unknown id", async () => {
    const client = createClient({ baseUrl: runner.baseUrl })
    const id = await client.upload(fixture("not-an-image-text.jpg"), { contentType: "image/jpeg" })
    const failed = await rejection(client.waitUntilReady(id, { timeoutMs: 60_000 }))
    expect(failed.code).toBe("not_an_image")
    expect(failed.image?.status).toBe("failed")

    const unknown = await rejection(client.waitUntilReady(UNKNOWN_ID))
    expect(unknown).toMatchObject({ code: "not_found", status: 404 })
  })

  it("surfaces the API's errors as ImgpipeError with code and status", async () => {
    const client = createClient({ baseUrl: runner.baseUrl })
    const svg = new TextEncoder().encode("<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
    const refused = await rejection(client.upload(svg, { name: "logo.svg" }))
    expect(refused).toMatchObject({ code: "unsupported_type", status: 415 })
    expect(refused.message).toMatch(/image\/svg\+xml|not accepted/i)
    const hook = await rejection(client.upload(fixture(PHOTO), { callbackUrl: "http://127.0.0.1:9/hook" }))
    expect(hook).toMatchObject({ code: "invalid_callback_url", status: 400 })
    const bad = await rejection(client.status("not-a-uuid"))
    // Checked before sending: the API's code, no HTTP status.
    expect(bad.code).toBe("bad_request")
    expect(bad.status).toBeUndefined()
    const offline = await rejection(createClient({ baseUrl: "http://127.0.0.1:1" }).status(UNKNOWN_ID))
    expect(offline.code).toBe("network_error")
    expect(offline.status).toBeUndefined()
  })

  it("aborts a wait when the signal fires", async () => {
    const client = createClient({ baseUrl: runner.baseUrl })
    const controller = new AbortController()
    // Never uploaded: it stays awaiting_upload, so only the signal can end the wait.
    const ticket = await fetch(`${runner.baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content_type: "image/jpeg", content_length: 10 })
    }).then((r) => r.json() as Promise<{ image_id: string }>)
    setTimeout(() => controller.abort(), 300)
    const aborted = await rejection(client.waitUntilReady(ticket.image_id, { signal: controller.signal }))
    expect(aborted.code).toBe("aborted")
    const timedOut = await rejection(client.waitUntilReady(ticket.image_id, { timeoutMs: 200 }))
    expect(timedOut.code).toBe("timeout")
  })

  it("getImageUrl is the public get_image redirect; download fetches what it serves", async () => {
    const client = createClient({ baseUrl: runner.baseUrl })
    const id = await client.upload(fixture(PHOTO))
    await client.waitUntilReady(id, { timeoutMs: 60_000 })
    const url = client.getImageUrl(id, "small")
    expect(url).toBe(`${runner.baseUrl}/get_image?image_id=${id}&image_size=small`)
    const res = await fetch(url, { redirect: "manual" })
    expect(res.status).toBe(302)
    expect(res.headers.get("x-image-size")).toBe("small")
    const image = await fetch(res.headers.get("location")!)
    expect(image.headers.get("content-type")).toBe("image/jpeg")
    const small = await client.download(id, "small")
    expect(small).toMatchObject({ served_size: "small", content_type: "image/jpeg", width: 320, height: 256 })
    expect(small.data.byteLength).toBe(small.bytes)
    expect([...small.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
    expect(small.format).toBe("jpeg")
    expect(small.placeholder?.dominant_color).toMatch(/^#[0-9a-f]{6}$/)

    // A format: in the URL (for <img src>), and for download (WebP is made by default).
    expect(client.getImageUrl(id, "small", { format: "webp" })).toBe(`${url}&format=webp`)
    const viaUrl = await fetch(client.getImageUrl(id, "small", { format: "webp" }))
    expect(viaUrl.headers.get("content-type")).toBe("image/webp")
    const webp = await client.download(id, "small", { format: "webp" })
    expect(webp).toMatchObject({ served_size: "small", format: "webp", content_type: "image/webp", width: 320 })
    expect(webp.data.byteLength).toBe(webp.bytes)
    expect(new TextDecoder().decode(webp.data.subarray(8, 12))).toBe("WEBP")
  })

  it("admin calls with the admin key: queues, a listing by status, reprocess, redrive", async () => {
    const denied = await rejection(createClient({ baseUrl: runner.baseUrl }).queues())
    expect(denied).toMatchObject({ code: "unauthorized", status: 401 })
    const client = createClient({ baseUrl: runner.baseUrl, adminKey: ADMIN_KEY })
    const queues = await client.queues()
    expect(queues.map((q) => q.name)).toEqual(expect.arrayContaining(["small", "medium", "large"]))
    const page = await client.listImages({ status: "ready", limit: 100 })
    expect(page.images.length).toBeGreaterThan(0)
    expect(page.images.every((image) => image.status === "ready")).toBe(true)
    const id = page.images[0]!.image_id
    const again = await client.reprocess(id, ["small"])
    expect(again.image_id).toBe(id)
    expect((await client.waitUntilReady(id, { timeoutMs: 60_000 })).renditions.small.status).toBe("ready")
    expect(Array.isArray(await client.redriveDlq())).toBe(true)
  })

  it("sends the upload key to /upload and /images, the admin key to /admin (never the other way)", async () => {
    const client = createClient({ baseUrl: `${proxy.baseUrl}/`, apiKey: "upload-key", adminKey: ADMIN_KEY })
    const from = proxy.seen.length
    const id = await client.upload(fixture("photo-246x345.tiff"))
    await client.status(id)
    await client.queues()
    const sent = proxy.seen.slice(from).map((line, i) => [line, proxy.authorizations[from + i]])
    expect(sent).toEqual([
      ["POST /upload", "Bearer upload-key"],
      [`GET /images/${id}`, "Bearer upload-key"],
      ["GET /admin/queues", `Bearer ${ADMIN_KEY}`]
    ])
  })
})

describe("Effect client", () => {
  it.effect("the ImgpipeClient service and the typed HttpApiClient under it", () =>
    Effect.gen(function* () {
      const client = yield* ImgpipeClient
      const id = yield* client.upload(fixture(PHOTO), { contentType: "image/jpeg" })
      const ready = yield* client.waitUntilReady(id, { timeout: "60 seconds" })
      expect(ready.status).toBe("ready")
      const raw = yield* client.api.images.status({ path: { image_id: id } })
      expect(raw.updated_at).toBeInstanceOf(Date)
      const missing = yield* Effect.flip(client.status(UNKNOWN_ID))
      expect(missing).toMatchObject({ _tag: "ImgpipeError", code: "not_found", status: 404 })
    }).pipe(Effect.provide(ImgpipeClient.layer({ baseUrl: runner.baseUrl }))))
})
