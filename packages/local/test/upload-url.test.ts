/**
 * Upload URL enforcement, end to end: a PUT with another content type, another length, an expired
 * URL or a tampered signature is refused by storage, and then nothing is stored and no processing
 * starts (the image stays `awaiting_upload`, no job is queued, get_image still answers 404).
 */
import { expect, layer } from "@effect/vitest"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, getImage, getStatus, requestUpload, type UploadTicket } from "./support/client.js"

const bytes = fixture("photo-246x345.tiff")

const ticketFor = (baseUrl: string, contentType = "image/tiff", length = bytes.byteLength) =>
  Effect.promise(async () => {
    const answer = await requestUpload(baseUrl, { content_type: contentType, content_length: length })
    expect(answer.status).toBe(201)
    return (await answer.json()) as UploadTicket
  })

const put = (url: string, headers: Record<string, string>, body: Uint8Array) =>
  Effect.promise(async () => {
    const answer = await fetch(url, { method: "PUT", headers, body })
    return { status: answer.status, body: (await answer.json()) as { error: string; message: string } }
  })

/** Nothing stored, nothing queued, nothing served. */
const expectUntouched = (imageId: string) =>
  Effect.gen(function* () {
    const { baseUrl, dataDir } = yield* TestServer
    const rawDir = join(dataDir, "objects", "raw")
    const stored = existsSync(rawDir) ? readdirSync(rawDir).filter((f) => f.startsWith(imageId)) : []
    expect(stored).toEqual([])
    const status = yield* Effect.promise(() => getStatus(baseUrl, imageId))
    expect(status.status).toBe("awaiting_upload")
    expect((yield* Effect.promise(() => getImage(baseUrl, imageId, "small"))).status).toBe(404)
    const queue = yield* LocalQueue
    for (const size of ["small", "medium", "large"] as const) {
      expect(yield* queue.depth(size)).toEqual({ visible: 0, notVisible: 0, dead: 0 })
    }
  })

layer(makeTestApp(), { excludeTestServices: true, timeout: 120_000 })("upload URL enforcement", (it) => {
  it.effect("wrong content-type → 403 content_type_mismatch, nothing stored or started", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const ticket = yield* ticketFor(baseUrl)
      const answer = yield* put(ticket.upload.url, { "content-type": "image/png" }, bytes)
      expect(answer.status).toBe(403)
      expect(answer.body.error).toBe("content_type_mismatch")
      yield* expectUntouched(ticket.image_id)
    }))

  it.effect("wrong length → 400 content_length_mismatch, nothing stored or started", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const ticket = yield* ticketFor(baseUrl)
      const shorter = yield* put(ticket.upload.url, ticket.upload.headers, bytes.subarray(0, bytes.byteLength - 1))
      expect(shorter.status).toBe(400)
      expect(shorter.body.error).toBe("content_length_mismatch")
      const longer = new Uint8Array(bytes.byteLength + 10)
      longer.set(bytes)
      const tooLong = yield* put(ticket.upload.url, ticket.upload.headers, longer)
      expect(tooLong.status).toBe(400)
      yield* expectUntouched(ticket.image_id)
    }))

  it.effect("tampered signature, key, type or length in the URL → 403 signature_mismatch", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const ticket = yield* ticketFor(baseUrl)
      const other = yield* ticketFor(baseUrl)
      const url = new URL(ticket.upload.url)
      const sig = url.searchParams.get("sig")!
      const tampered = [
        (u: URL) => u.searchParams.set("sig", (sig[0] === "a" ? "b" : "a") + sig.slice(1)),
        (u: URL) => (u.pathname = u.pathname.replace(ticket.image_id, other.image_id)),
        (u: URL) => u.searchParams.set("content_length", String(bytes.byteLength + 1)),
        (u: URL) => u.searchParams.set("content_type", "image/png"),
        (u: URL) => u.searchParams.set("expires", String(Number(u.searchParams.get("expires")) + 3600))
      ]
      for (const tamper of tampered) {
        const changed = new URL(url)
        tamper(changed)
        const answer = yield* put(changed.toString(), ticket.upload.headers, bytes)
        expect(answer.status).toBe(403)
        expect(answer.body.error).toBe("signature_mismatch")
      }
      yield* expectUntouched(ticket.image_id)
      yield* expectUntouched(other.image_id)
    }))
})

layer(makeTestApp({ env: { IMGPIPE_UPLOAD_URL_TTL_SECONDS: "1" } }), { excludeTestServices: true, timeout: 120_000 })(
  "upload URL expiry",
  (it) => {
    it.effect("an expired URL → 403 url_expired, nothing stored or started", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const ticket = yield* ticketFor(baseUrl)
        expect(new Date(ticket.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(2_000)
        yield* Effect.sleep("2500 millis")
        const answer = yield* put(ticket.upload.url, ticket.upload.headers, bytes)
        expect(answer.status).toBe(403)
        expect(answer.body.error).toBe("url_expired")
        yield* expectUntouched(ticket.image_id)
      }))
  }
)
