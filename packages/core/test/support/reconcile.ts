/**
 * Helpers for reconciliation tests: put images into the states the reconciler looks for by
 * moving their clocks back with SQL, instead of waiting out the real windows.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { ImageId } from "../../src/domain/ids.js"

/** The image's and its renditions' progress clocks `seconds` in the past. */
export const backdateProgress = (id: ImageId, seconds: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE images SET updated_at = now() - make_interval(secs => ${seconds}) WHERE id = ${id}`
    yield* sql`UPDATE renditions SET updated_at = now() - make_interval(secs => ${seconds}) WHERE image_id = ${id}`
  }).pipe(Effect.orDie)

/** The image's upload URL expired `seconds` ago. */
export const backdateUploadExpiry = (id: ImageId, seconds: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`UPDATE images SET upload_expires_at = now() - make_interval(secs => ${seconds}) WHERE id = ${id}`
  ).pipe(Effect.orDie)

/** No images, renditions or jobs: each test starts from an empty slice for the reconciler. */
export const resetAll = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`TRUNCATE images, renditions, jobs, dead_jobs, webhook_deliveries`
)
  .pipe(
    Effect.orDie
  )

/** The image's resend counter and status as stored. */
export const stallState = (id: ImageId) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ status: string; stall_resends: number }>`SELECT status, stall_resends FROM images WHERE id = ${id}`
  ).pipe(Effect.map((rows) => rows[0]), Effect.orDie)
