/**
 * Webhooks end to end on the embedded runner, started as `bun run start` would: an upload with a
 * `callback_url` goes ready, and a real receiver on 127.0.0.1 (so IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true)
 * gets `image.ready`, signed as docs/webhooks.md says (checked with the documented example). The
 * receiver answers 500 first: the table queue's poller retries with backoff, the second attempt is
 * delivered, the status JSON says so, and nothing more is sent while the runner keeps going.
 */
import { afterAll, beforeAll, expect, it } from "@effect/vitest"
import { documentedVerifier } from "@imgpipe/core/test/support/webhookReceiver"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { contentTypeOf, fixture, getStatus, waitUntilSettled } from "./support/client.js"
import { makeTestDatabase, removeDir, type Runner, startRunner } from "./support/runner.js"

const SECRET = "whsec_e2e_secret"

interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly at: number
}

let runner: Runner
let database: Awaited<ReturnType<typeof makeTestDatabase>>
let receiver: Server
let receiverUrl: string
const received: Array<Received> = []
/** Answers in order, then 200. */
const script = [500]

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() })
      res.writeHead(script.shift() ?? 200).end()
    })
  })
  await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/imgpipe`
  database = await makeTestDatabase()
  runner = await startRunner({
    ...(database ? { databaseUrl: database.url } : {}),
    env: {
      IMGPIPE_WEBHOOK_SECRET: SECRET,
      IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "true",
      IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: "1"
    }
  })
}, 180_000)

afterAll(async () => {
  const code = await runner?.stop("SIGTERM")
  expect(code).toBe(0)
  removeDir(runner.dataDir)
  await database?.drop()
  receiver?.closeAllConnections()
  await new Promise((done) => receiver?.close(done))
})

const waitFor = async <A>(what: string, probe: () => Promise<A | undefined> | A | undefined, ms = 30_000) => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${runner.output().slice(-4000)}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}

it("the start-up log says webhooks are on and private destinations allowed", () => {
  expect(runner.output()).toMatch(/webhooks: on.*IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true/)
})

it(
  "upload with callback_url → ready → the receiver gets image.ready, signed; a 500 is retried once, then no more",
  async () => {
    const name = "photo-1280x1024-grass-progressive.jpg"
    const bytes = fixture(name)
    const answer = await fetch(`${runner.baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        content_type: contentTypeOf(name),
        content_length: bytes.byteLength,
        callback_url: receiverUrl
      })
    })
    expect(answer.status).toBe(201)
    const ticket = (await answer.json()) as {
      image_id: string
      upload: { url: string; headers: Record<string, string> }
    }
    const put = await fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: bytes })
    expect(put.ok).toBe(true)
    expect((await waitUntilSettled(runner.baseUrl, ticket.image_id)).status).toBe("ready")

    // First attempt answered 500, the second (about a second later: the backoff) 200.
    await waitFor("two webhook requests", () => (received.length >= 2 ? true : undefined))
    const [first, second] = received
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900)
    const verify = documentedVerifier()
    for (const request of [first!, second!]) {
      expect(request.headers["content-type"]).toBe("application/json")
      expect(verify(request.body, String(request.headers["imgpipe-signature"]), SECRET)).toBe(true)
      const event = JSON.parse(request.body)
      expect(event).toMatchObject({ type: "image.ready", data: { image_id: ticket.image_id, status: "ready" } })
      expect(request.headers["imgpipe-event-id"]).toBe(event.id)
    }
    expect(JSON.parse(second!.body).id).toBe(JSON.parse(first!.body).id)
    // The second attempt's data carries the delivery state so far (one failed attempt).
    expect(JSON.parse(second!.body).data.webhook).toEqual({ attempts: 1, delivered_at: null, last_error: "HTTP 500" })

    const status = await waitFor("the delivery recorded", async () => {
      const s = (await getStatus(runner.baseUrl, ticket.image_id)) as unknown as {
        webhook?: { attempts: number; delivered_at: string | null; last_error: string | null }
      }
      return s.webhook?.delivered_at ? s : undefined
    })
    expect(status.webhook).toMatchObject({ attempts: 2, last_error: null })

    // Delivered: the poller keeps running, nothing more is sent.
    await new Promise((done) => setTimeout(done, 3_000))
    expect(received).toHaveLength(2)
  },
  120_000
)
