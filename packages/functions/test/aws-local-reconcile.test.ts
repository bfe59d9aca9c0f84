/**
 * `bun run start:aws-local` runs the Reconcile handler on its emulated schedule: with short
 * settings (upload URLs valid 1 s, no grace, a tick every second), an upload that never arrives
 * ends `expired` and `get_image` answers 404, as the `Reconcile` cron makes it in AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import { type AwsLocal, startAwsLocal } from "./support/aws-local.js"

describe(`bun run start:aws-local reconciles (${testDatabaseKind})`, () => {
  let local: AwsLocal

  beforeAll(async () => {
    local = await startAwsLocal({
      IMGPIPE_LOG_LEVEL: "Info",
      IMGPIPE_UPLOAD_URL_TTL_SECONDS: "1",
      IMGPIPE_EXPIRE_GRACE_SECONDS: "0",
      IMGPIPE_RECONCILE_EVERY_SECONDS: "1"
    })
  }, 150_000)

  afterAll(() => local?.stop(), 30_000)

  it("an upload that never arrives ends expired; get_image answers 404", async () => {
    const ticket = (await (
      await fetch(`${local.api}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: "image/png", content_length: 1000 })
      })
    ).json()) as { image_id: string }

    const status = await local.poll("expired", 30, async () => {
      const body = (await (await fetch(`${local.api}/images/${ticket.image_id}`)).json()) as { status: string }
      return body.status === "expired" ? body : undefined
    })
    expect(status.status).toBe("expired")
    const answer = await fetch(`${local.api}/get_image?image_id=${ticket.image_id}&image_size=small`, {
      redirect: "manual"
    })
    expect(answer.status).toBe(404)
    expect(local.output()).toMatch(/reconcile: done/)
  }, 60_000)
})
