/**
 * A stop of the runner (`bun run start`, as a child process) does not wait on open event streams:
 * with a 60 s grace and a stream open, SIGTERM ends the stream and the process exits in seconds.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { requestUpload, type UploadTicket } from "./support/client.js"
import { exitWithin, makeTestDatabase, startRunner } from "./support/runner.js"
import { openSse } from "./support/sse.js"

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe("stop with open event streams", () => {
  it("SIGTERM ends the streams and exits well within the grace", async () => {
    const database = await makeTestDatabase()
    if (database) cleanups.push(database.drop)
    const runner = await startRunner({
      ...(database ? { databaseUrl: database.url } : {}),
      env: { IMGPIPE_SHUTDOWN_GRACE_SECONDS: "60" }
    })
    cleanups.push(async () => void (await runner.stop("SIGKILL")))
    const answer = await requestUpload(runner.baseUrl, { content_type: "image/jpeg", content_length: 1000 })
    const { image_id } = (await answer.json()) as UploadTicket
    const streams = await Promise.all([0, 1, 2].map(() => openSse(`${runner.baseUrl}/images/${image_id}/events`)))
    for (const sse of streams) await sse.waitFor((events) => events.length === 1)

    const started = Date.now()
    runner.process.kill("SIGTERM")
    const code = await exitWithin(runner, 20_000)
    const elapsed = Date.now() - started
    expect(code, `${elapsed} ms\n${runner.output()}`).toBe(0)
    expect(elapsed).toBeLessThan(10_000)
    for (const sse of streams) {
      await sse.ended
      expect(sse.events).toHaveLength(1)
    }
  }, 180_000)
})
