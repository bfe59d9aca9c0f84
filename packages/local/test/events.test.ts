/**
 * `GET /images/{id}/events` on the embedded runner's layers (in-process, real HTTP, real workers,
 * PGlite or TEST_DATABASE_URL): the first event is the status now, then each change in order, and
 * the stream ends after a final status; heartbeats; 404/400/401 before any stream; a closed
 * connection releases its subscription; many streams share one poll per tick.
 */
import { describe, expect, layer } from "@effect/vitest"
import { ChangeFeed } from "@imgpipe/core"
import { Clock, Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, requestUpload, type UploadTicket } from "./support/client.js"
import { openSse, type SseConnection, type SseEvent } from "./support/sse.js"

const INTERVAL_MS = 50
const env = { IMGPIPE_SSE_HEARTBEAT: "150 millis", IMGPIPE_CHANGE_FEED_INTERVAL: `${INTERVAL_MS} millis` }

interface Status {
  readonly status: string
  readonly renditions: Record<string, { readonly status: string }>
  readonly error?: { readonly code: string }
}

const statusOf = (event: SseEvent): Status => JSON.parse(event.data) as Status
const readyCount = (status: Status) => Object.values(status.renditions).filter((r) => r.status === "ready").length
const RANK: Record<string, number> = { awaiting_upload: 0, processing: 1, ready: 2, failed: 2, expired: 2 }

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** A ticket whose bytes are never sent: the image stays `awaiting_upload`. */
const awaitingImage = (baseUrl: string) =>
  promise(async () => {
    const answer = await requestUpload(baseUrl, { content_type: "image/jpeg", content_length: 1000 })
    expect(answer.status).toBe(201)
    return (await answer.json()) as UploadTicket
  })

const waitUntil = (predicate: () => Effect.Effect<boolean>, timeoutMs = 10_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (!(yield* predicate())) {
      if (Date.now() > deadline) return yield* Effect.dieMessage("condition not met in time")
      yield* Effect.sleep("20 millis")
    }
  })

const noSubscribers = Effect.gen(function* () {
  const feed = yield* ChangeFeed
  yield* waitUntil(() => Effect.map(feed.stats, (s) => s.subscribers === 0 && s.watched === 0))
})

layer(makeTestApp({ env, workers: true }), { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.effect("upload to ready: the status at once, then each change in order, then the stream ends", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const bytes = fixture("photo-1280x1024-grass-progressive.jpg")
      const answer = yield* promise(() =>
        requestUpload(baseUrl, { content_type: "image/jpeg", content_length: bytes.byteLength })
      )
      const ticket = (yield* promise(() => answer.json())) as UploadTicket
      const sse = yield* promise(() => openSse(`${baseUrl}/images/${ticket.image_id}/events`))
      expect(sse.status).toBe(200)
      expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/)
      expect(sse.headers.get("cache-control")).toBe("no-cache")
      expect(sse.headers.get("x-accel-buffering")).toBe("no")
      yield* promise(() => sse.waitFor((events) => events.length >= 1))
      expect(statusOf(sse.events[0]!).status).toBe("awaiting_upload")
      expect(sse.events[0]!.retry).toBe(2000)

      const put = yield* promise(() =>
        fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes })
      )
      expect(put.status).toBe(200)
      yield* promise(() => sse.ended)

      const statuses = sse.events.map(statusOf)
      expect(statuses.at(-1)!.status).toBe("ready")
      expect(readyCount(statuses.at(-1)!)).toBe(3)
      expect(statuses.some((s) => s.status === "processing")).toBe(true)
      for (let i = 1; i < statuses.length; i++) {
        // In order: the status never goes back, sizes only get ready, and no event repeats the last.
        expect(RANK[statuses[i]!.status]!).toBeGreaterThanOrEqual(RANK[statuses[i - 1]!.status]!)
        expect(readyCount(statuses[i]!)).toBeGreaterThanOrEqual(readyCount(statuses[i - 1]!))
        expect(sse.events[i]!.data).not.toBe(sse.events[i - 1]!.data)
      }
      for (const event of sse.events) {
        expect(event.event).toBe("status")
        expect(event.id).toMatch(/^[\w-]{16}$/)
      }
      // The same JSON as GET /images/{id}.
      const polled = yield* promise(() => fetch(`${baseUrl}/images/${ticket.image_id}`).then((r) => r.json()))
      expect(statusOf(sse.events.at(-1)!)).toEqual(polled)
      yield* noSubscribers

      // Already ready: one event, then the end.
      const again = yield* promise(() => openSse(`${baseUrl}/images/${ticket.image_id}/events`))
      yield* promise(() => again.ended)
      expect(again.events.map(statusOf).map((s) => s.status)).toEqual(["ready"])
      expect(again.events[0]!.id).toBe(sse.events.at(-1)!.id)

      // EventSource reconnecting with the final event's id is told to stop.
      const reconnect = yield* promise(() =>
        fetch(`${baseUrl}/images/${ticket.image_id}/events`, { headers: { "last-event-id": again.events[0]!.id! } })
      )
      expect(reconnect.status).toBe(204)
      const stale = yield* promise(() =>
        openSse(`${baseUrl}/images/${ticket.image_id}/events`, { "last-event-id": "an-older-state" })
      )
      yield* promise(() => stale.ended)
      expect(stale.events).toHaveLength(1)
    }))

  it.effect("a rejected upload: the stream ends with failed and the rejection code", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const bytes = fixture("not-an-image-text.jpg")
      const answer = yield* promise(() =>
        requestUpload(baseUrl, { content_type: "image/jpeg", content_length: bytes.byteLength })
      )
      const ticket = (yield* promise(() => answer.json())) as UploadTicket
      const sse = yield* promise(() => openSse(`${baseUrl}/images/${ticket.image_id}/events`))
      yield* promise(() => sse.waitFor((events) => events.length >= 1))
      yield* promise(() => fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes }))
      yield* promise(() => sse.ended)
      const last = statusOf(sse.events.at(-1)!)
      expect(last.status).toBe("failed")
      expect(last.error?.code).toBe("not_an_image")
      expect(sse.events.slice(0, -1).map(statusOf).every((s) => s.status !== "failed")).toBe(true)
    }))

  it.effect("heartbeat comments while nothing changes; closing the connection releases the subscription", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const feed = yield* ChangeFeed
      const { image_id: id } = yield* awaitingImage(baseUrl)
      const sse = yield* promise(() => openSse(`${baseUrl}/images/${id}/events`))
      yield* waitUntil(() => Effect.sync(() => sse.comments.length >= 2), 5_000)
      expect(sse.comments.every((c) => c === " keepalive")).toBe(true)
      expect(sse.events).toHaveLength(1)
      expect(sse.isEnded()).toBe(false)
      expect((yield* feed.stats).subscribers).toBe(1)

      sse.close()
      yield* noSubscribers
      // With nothing watched the loop stops: no more polls.
      yield* waitUntil(() => Effect.map(feed.stats, (s) => !s.running))
      const polls = (yield* feed.stats).polls
      yield* Effect.sleep(`${INTERVAL_MS * 4} millis`)
      expect((yield* feed.stats).polls).toBe(polls)
    }))

  it.effect("30 open streams: one poll per tick, not one per stream; a change reaches each stream", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const feed = yield* ChangeFeed
      const tickets = yield* Effect.all(Array.from({ length: 10 }, () => awaitingImage(baseUrl)))
      // Three streams on each of ten images.
      const streams: Array<SseConnection> = yield* Effect.all(
        tickets.flatMap(({ image_id }) =>
          [0, 1, 2].map(() => promise(() => openSse(`${baseUrl}/images/${image_id}/events`)))
        ),
        { concurrency: 10 }
      )
      expect(yield* feed.stats).toMatchObject({ subscribers: 30, watched: 10, running: true })
      const before = (yield* feed.stats).polls
      const started = yield* Clock.currentTimeMillis
      yield* Effect.sleep("1 second")
      // It keeps polling (at least twice more, however slow a poll is on a loaded machine)…
      yield* waitUntil(() => Effect.map(feed.stats, (s) => s.polls - before >= 2), 20_000)
      const window = (yield* Clock.currentTimeMillis) - started
      const polls = (yield* feed.stats).polls - before
      // …at most once per tick (a tick is the interval plus the poll itself), whatever the number of streams.
      expect(polls).toBeLessThanOrEqual(Math.ceil(window / INTERVAL_MS) + 2)

      // The first image's bytes arrive (and are refused): its three streams end with it, the others go on.
      const first = tickets[0]!
      yield* promise(() =>
        fetch(first.upload.url, { method: "PUT", headers: first.upload.headers, body: new Uint8Array(1000) })
      )
      yield* promise(() => Promise.all(streams.slice(0, 3).map((sse) => sse.ended)))
      for (const sse of streams.slice(0, 3)) expect(statusOf(sse.events.at(-1)!).status).toBe("failed")
      for (const sse of streams.slice(3)) {
        expect(sse.isEnded()).toBe(false)
        expect(sse.events).toHaveLength(1)
      }
      yield* waitUntil(() => Effect.map(feed.stats, (s) => s.subscribers === 27 && s.watched === 9))
      for (const sse of streams) sse.close()
      yield* noSubscribers
    }))

  it.effect("unknown id: 404 JSON; a malformed id: 400 JSON; nothing subscribed", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const missing = yield* promise(() => fetch(`${baseUrl}/images/0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10/events`))
      expect(missing.status).toBe(404)
      expect(yield* promise(() => missing.json())).toMatchObject({ error: "not_found" })
      const bad = yield* promise(() => fetch(`${baseUrl}/images/not-a-uuid/events`))
      expect(bad.status).toBe(400)
      expect(yield* promise(() => bad.json())).toMatchObject({ error: "bad_request" })
      expect((yield* (yield* ChangeFeed).stats).subscribers).toBe(0)
    }))
})

describe("with API keys", () => {
  layer(makeTestApp({ env: { ...env, IMGPIPE_API_KEYS: "key-one" } }), { excludeTestServices: true, timeout: 120_000 })(
    (it) => {
      it.effect("401 JSON without a key, the stream with one", () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const answer = yield* promise(() =>
            requestUpload(baseUrl, { content_type: "image/jpeg", content_length: 10 }, {
              authorization: "Bearer key-one"
            })
          )
          const { image_id } = (yield* promise(() => answer.json())) as UploadTicket
          const refused = yield* promise(() => fetch(`${baseUrl}/images/${image_id}/events`))
          expect(refused.status).toBe(401)
          expect(yield* promise(() => refused.json())).toMatchObject({ error: "unauthorized" })
          const wrong = yield* promise(() =>
            fetch(`${baseUrl}/images/${image_id}/events`, { headers: { authorization: "Bearer nope" } })
          )
          expect(wrong.status).toBe(401)
          const sse = yield* promise(() =>
            openSse(`${baseUrl}/images/${image_id}/events`, { authorization: "Bearer key-one" })
          )
          expect(sse.status).toBe(200)
          yield* promise(() => sse.waitFor((events) => events.length === 1))
          expect(statusOf(sse.events[0]!).status).toBe("awaiting_upload")
          sse.close()
        }))
    }
  )
})
