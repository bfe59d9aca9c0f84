import { Effect, Layer } from "effect"
import { WebhookQueue } from "../services/WebhookQueue.js"

/**
 * The embedded runner's webhook queue: the `webhook_deliveries` table itself. A terminal status
 * change inserts the row (migration 0007's trigger), the runner's poller (packages/local/src/
 * webhooks.ts) finds it due by `next_attempt_at` and runs `deliverWebhook`, which leases it and
 * records the outcome and the next attempt's time. So nothing is sent anywhere: `polled`.
 */
export const PgWebhookQueueLive: Layer.Layer<WebhookQueue> = Layer.succeed(
  WebhookQueue,
  WebhookQueue.of({ polled: true, send: () => Effect.void })
)
