import { Context, type Effect } from "effect"
import type { QueueError } from "../domain/errors.js"
import type { WebhookEventId } from "../domain/webhook.js"

/** A delivery handed to the deliverer, not before `delaySeconds` (0..900, SQS's limit). */
export interface WebhookDispatch {
  readonly eventId: WebhookEventId
  readonly delaySeconds: number
}

/**
 * How a due webhook delivery reaches `deliverWebhook` (usecases/deliverWebhook.ts).
 *
 * - Embedded (packages/core/src/local/PgWebhookQueue.ts): the `webhook_deliveries` table is the
 *   queue; a poller in the runner finds due rows by `next_attempt_at` and delivers them, so
 *   `polled` is true and `send` does nothing.
 * - AWS (packages/core/src/aws/SqsWebhookQueue.ts): `send` puts one SQS message per delivery on
 *   `webhooks-<stage>` (body: `WebhookJob`, JSON `{ "event_id": … }`, `DelaySeconds` from
 *   `delaySeconds`); the `DeliverWebhook` function calls `deliverWebhook` for each message.
 *   At least once: a duplicate message is harmless (the delivery row is claimed with a lease, and
 *   a delivered row is skipped).
 */
export class WebhookQueue extends Context.Tag("imgpipe/WebhookQueue")<
  WebhookQueue,
  {
    /** True when the deliverer polls the table itself (embedded): dispatching is then a no-op. */
    readonly polled: boolean
    readonly send: (deliveries: ReadonlyArray<WebhookDispatch>) => Effect.Effect<void, QueueError>
  }
>() {}
