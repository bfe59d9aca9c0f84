/**
 * The HTTP layer's issue 9 items in the embedded runner (its layers, as `bun run start` builds
 * them, in-process on a fresh database and data folder): the JSON body limit stops `/upload`
 * bodies but not the storage PUT, which streams uploads of up to 25 MiB to disk; CORS is on by
 * default (no API keys) and covers the storage routes, preflight included.
 */
import { expect, layer } from "@effect/vitest"
import { chunks, MiB, streamBody } from "@imgpipe/api/test/support/stream"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { makeTestApp, TestServer } from "./support/app.js"

const APP = "http://localhost:5173"

interface Ticket {
  readonly image_id: string
  readonly upload: { readonly url: string; readonly headers: Record<string, string> }
}

const ticketFor = (baseUrl: string, length: number) =>
  Effect.promise(async () => {
    const answer = await fetch(`${baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: APP },
      body: JSON.stringify({ content_type: "image/jpeg", content_length: length })
    })
    expect(answer.status).toBe(201)
    expect(answer.headers.get("access-control-allow-origin")).toBe("*")
    return (await answer.json()) as Ticket
  })

layer(makeTestApp(), { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.effect(
    "the JSON body limit refuses a 600 MB /upload body, not a 2 MiB storage PUT",
    () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const refused = yield* Effect.promise(() => streamBody(`${baseUrl}/upload`, chunks(600 * MiB)))
        expect(refused.status).toBe(413)
        expect(JSON.parse(refused.body)).toMatchObject({ error: "too_large" })

        const bytes = randomBytes(2 * MiB)
        const ticket = yield* ticketFor(baseUrl, bytes.length)
        const stored = yield* Effect.promise(() =>
          fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes })
        )
        expect(stored.status).toBe(200)
      }),
    60_000
  )

  it.effect(
    "CORS is on by default and covers the storage routes: preflight, PUT and GET",
    () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const bytes = randomBytes(4096)
        const ticket = yield* ticketFor(baseUrl, bytes.length)

        const preflight = yield* Effect.promise(() =>
          fetch(ticket.upload.url, {
            method: "OPTIONS",
            headers: {
              origin: APP,
              "access-control-request-method": "PUT",
              "access-control-request-headers": "content-type"
            }
          })
        )
        expect(preflight.status).toBe(204)
        expect(preflight.headers.get("access-control-allow-origin")).toBe("*")
        expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT")
        expect((preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase()).toContain("content-type")

        const put = yield* Effect.promise(() =>
          fetch(ticket.upload.url, { method: "PUT", headers: { ...ticket.upload.headers, origin: APP }, body: bytes })
        )
        expect(put.status).toBe(200)
        expect(put.headers.get("access-control-allow-origin")).toBe("*")
        expect((put.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("etag")

        // The original, served through get_image (once the upload notification has been handled).
        const served = yield* Effect.promise(async () => {
          for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
            const answer = await fetch(`${baseUrl}/get_image?image_id=${ticket.image_id}&image_size=small`, {
              headers: { accept: "application/json", origin: APP }
            })
            if (answer.status === 200) return { answer, body: (await answer.json()) as { url: string } }
            await new Promise((wait) => setTimeout(wait, 100))
          }
          throw new Error("get_image did not serve the original within 15 s")
        })
        expect(served.answer.headers.get("access-control-allow-origin")).toBe("*")
        const download = yield* Effect.promise(() => fetch(served.body.url, { headers: { origin: APP } }))
        expect(download.status).toBe(200)
        expect(download.headers.get("access-control-allow-origin")).toBe("*")
      }),
    60_000
  )
})
