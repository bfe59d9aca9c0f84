/**
 * The embedded runner's webhook deliverer: the `webhook_deliveries` table is the queue (a terminal
 * status inserts the row in its own transaction, migration 0007), and a poller
 * (core `local/PgWebhookQueue.ts`) finds the due rows and runs the same `deliverWebhook` use case
 * the `DeliverWebhook` Lambda runs for each SQS message. The use case leases the row before its
 * request, so a second poller (another process on the same PostgreSQL) never sends the same
 * attempt twice, and records the outcome and the next attempt's time (exponential backoff), which
 * is all the scheduling there is.
 */
import { describeWebhooks, WebhookSettings } from "@imgpipe/core"
import { PgWebhookQueueLive, pollWebhooks, webhookPollerConfig } from "@imgpipe/core/local/PgWebhookQueue"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { WebhookDeliveryLive } from "@imgpipe/core/util/ssrf"
import { Effect, Layer, Option } from "effect"

/**
 * The poller, started with the runner when webhooks are on (a secret is set: without one no upload
 * can name a callback_url, and rows left from an earlier run wait for a start with the secret);
 * the start-up log says whether they are on and how open.
 */
export const WebhookPollerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const options = yield* webhookPollerConfig
    const settings = yield* WebhookSettings
    yield* (settings.allowPrivate ? Effect.logWarning : Effect.logInfo)(describeWebhooks(settings))
    if (Option.isSome(settings.secret)) yield* Effect.forkScoped(pollWebhooks(options))
  })
)

/**
 * The webhook services of the embedded runner: the delivery rows on its database, the table as
 * the queue, the settings, resolver and HTTP client. Needs a `SqlClient`.
 */
export const EmbeddedWebhooksLive = Layer.mergeAll(WebhookDeliveriesSql, PgWebhookQueueLive, WebhookDeliveryLive)
