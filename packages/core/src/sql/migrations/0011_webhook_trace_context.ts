import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * `webhook_deliveries.traceparent`: the W3C trace context of the transition that made the event,
 * stamped by `dispatchWebhooks` on the embedded table queue (the trigger cannot know the span), so
 * the embedded poller's delivery joins the image's trace as the SQS message attribute does in AWS.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE webhook_deliveries ADD COLUMN traceparent text`)
})
