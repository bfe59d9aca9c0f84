import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Every receive first moves the queue's exhausted jobs (receives used up) to `dead_jobs`. With only
 * `(queue, visible_at, id)` that lookup walked every visible job of the queue, so a backlog of
 * thousands made each poll slower, and on the embedded database's one connection every request
 * waited behind it. Led by `receive_count`, the lookup reads only the exhausted jobs.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX jobs_queue_receives_idx ON jobs (queue, receive_count, visible_at)`
})
