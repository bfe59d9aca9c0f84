/**
 * Marking an upload `processing` and inserting its jobs are one transaction in the embedded runner.
 * Here the job insert really fails (a trigger on `jobs` that raises, in this test's database): the
 * image must stay `awaiting_upload` — never `processing` with no job to finish it — and once the
 * insert works again the notifier's retry starts it, and it ends `ready` without a restart.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, getStatus, uploadBytes, waitUntilSettled } from "./support/client.js"

layer(makeTestApp({ workers: true, env: { IMGPIPE_IDLE_POLL_MS: "50" } }), {
  excludeTestServices: true,
  timeout: 120_000
})(
  "start of processing is atomic",
  (it) => {
    it.effect("a failing job insert leaves the upload awaiting_upload; it is started once the insert works", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const sql = yield* SqlClient.SqlClient
        yield* sql.unsafe(`
          CREATE FUNCTION test_refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'job insert refused by the test'; END $$`)
        yield* sql.unsafe(
          "CREATE TRIGGER test_refuse_jobs BEFORE INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_jobs()"
        )

        const ticket = yield* Effect.promise(() => uploadBytes(baseUrl, fixture("photo-246x345.tiff"), "image/tiff"))
        // Long enough for several delivery attempts to fail.
        yield* Effect.sleep("2 seconds")
        const during = yield* Effect.promise(() => getStatus(baseUrl, ticket.image_id))
        expect(during.status).toBe("awaiting_upload")
        const jobs = yield* sql<
          { n: number }
        >`SELECT count(*)::int AS n FROM jobs WHERE body->>'image_id' = ${ticket.image_id}`
        expect(jobs[0]?.n).toBe(0)

        yield* sql.unsafe("DROP TRIGGER test_refuse_jobs ON jobs")
        yield* sql.unsafe("DROP FUNCTION test_refuse_jobs()")
        const settled = yield* Effect.promise(() => waitUntilSettled(baseUrl, ticket.image_id, 60_000))
        expect(settled.status).toBe("ready")
      }))
  }
)
