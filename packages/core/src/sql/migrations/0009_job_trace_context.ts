import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Trace context on the table queues (the embedded runner's stand-in for SQS message attributes):
 * `traceparent` is the W3C trace context of the span that sent the job (null when tracing is off),
 * so the worker continues the same trace (`observability/traceContext.ts`). Dead-lettered jobs keep
 * it, and a redrive puts it back.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE jobs ADD COLUMN traceparent text`)
  yield* sql.unsafe(`ALTER TABLE dead_jobs ADD COLUMN traceparent text`)
})
