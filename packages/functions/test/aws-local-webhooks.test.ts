/**
 * Webhooks on the AWS code path, end to end: `bun run start:aws-local` in a child process (the ECS
 * API entry, the exported Lambda handlers, fauxqs's `webhooks-local` queue and DeliverWebhook's
 * emulated mapping), and a real HTTP receiver on loopback (IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true, as a
 * developer runs it). An upload with a `callback_url` becomes `ready` and the receiver gets one
 * signed `image.ready`; a receiver that answers 500 first gets the same event again after the
 * backoff (IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS=1), and the status JSON shows the attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { type AwsLocal, root, startAwsLocal, uploadJpeg } from "./support/aws-local.js"
import { type Receiver, signatureValid, startReceiver } from "./support/receiver.js"

const SECRET = "whsec-aws-local-test"
const photo = new Uint8Array(
  readFileSync(resolve(root, "packages/core/test/fixtures/images/photo-1280x1024-grass-progressive.jpg"))
)

interface Status {
  readonly status: string
  readonly webhook?: {
    readonly attempts: number
    readonly delivered_at: string | null
    readonly last_error: string | null
  }
}

describe(`webhooks on start:aws-local (${testDatabaseKind})`, () => {
  let local: AwsLocal
  let receiver: Receiver & { readonly close: () => Promise<void> }

  beforeAll(async () => {
    receiver = await startReceiver()
    local = await startAwsLocal({
      IMGPIPE_WEBHOOK_SECRET: SECRET,
      IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "true",
      IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: "1"
    })
  }, 150_000)

  afterAll(async () => {
    await local?.stop()
    await receiver?.close()
  }, 30_000)

  /** POST /upload with the callback, PUT the photo; the image id. */
  const upload = (callbackUrl: string): Promise<string> => uploadJpeg(local.api, photo, { callback_url: callbackUrl })

  const status = async (id: string): Promise<Status> =>
    (await (await fetch(`${local.api}/images/${id}`)).json()) as Status

  const webhooksFor = (id: string) =>
    receiver.received.filter((w) => (JSON.parse(w.body) as { data?: { image_id?: string } }).data?.image_id === id)

  it("sends one signed image.ready to the upload's callback_url", async () => {
    receiver.answer(200)
    const id = await upload(`${receiver.url}?case=ready`)
    const [webhook] = await local.poll("the image.ready webhook", 60, async () => {
      const got = webhooksFor(id)
      return got.length > 0 ? got : undefined
    })
    expect(signatureValid(SECRET, webhook!)).toBe(true)
    const event = JSON.parse(webhook!.body) as { id: string; type: string; created_at: string; data: Status }
    expect(event).toMatchObject({ type: "image.ready", data: { status: "ready" } })
    expect(webhook!.headers["imgpipe-event-id"]).toBe(event.id)
    expect(Number.isNaN(Date.parse(event.created_at))).toBe(false)
    const after = await local.poll("delivered_at in the status JSON", 10, async () => {
      const s = await status(id)
      return s.webhook?.delivered_at ? s : undefined
    })
    expect(after.webhook).toMatchObject({ attempts: 1, last_error: null })
    // A 2xx ends it: nothing more arrives for this image.
    await new Promise((r) => setTimeout(r, 3000))
    expect(webhooksFor(id)).toHaveLength(1)
  }, 90_000)

  it("retries after a 500 and then delivers the same event", async () => {
    receiver.answer(500, 200)
    const id = await upload(`${receiver.url}?case=retry`)
    const got = await local.poll("a second attempt", 60, async () => {
      const all = webhooksFor(id)
      return all.length >= 2 ? all : undefined
    })
    const ids = got.map((w) => (JSON.parse(w.body) as { id: string }).id)
    expect(new Set(ids).size, "one event, delivered twice").toBe(1)
    expect(got.every((w) => signatureValid(SECRET, w))).toBe(true)
    const after = await local.poll("delivered after the retry", 10, async () => {
      const s = await status(id)
      return s.webhook?.delivered_at ? s : undefined
    })
    expect(after.webhook?.attempts).toBe(2)
  }, 90_000)
})
