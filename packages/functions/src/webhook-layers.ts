/**
 * DeliverWebhook's one choice of implementations: the delivery rows and image records on
 * PostgreSQL, the SQS webhook queue and its DLQ, the webhook settings, the SSRF guard's resolver
 * and the HTTP client. Apart from layers.ts (which re-exports them) because its bundle then leaves
 * out sharp and the S3 client: measured, 1.36 MiB instead of 1.57 MiB minified, ~250 ms of import
 * CPU instead of ~410 ms, and no native addon to install with the function.
 */
import { LogLevelLive } from "@imgpipe/core"
import { SqsWebhookDeadLetterFromClient, SqsWebhookQueueLive } from "@imgpipe/core/aws/SqsWebhookQueue"
import { WebhookSettings, WebhookSettingsLive } from "@imgpipe/core/config/webhooks"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { NodeResolverLive, webhookHttpClientLayer } from "@imgpipe/core/util/ssrf"
import { Effect, Layer } from "effect"
import { FunctionDatabaseLive } from "./database.js"

/** The HTTP client webhooks are POSTed with: public destinations only, unless the settings allow private ones. */
const WebhookHttpClientLive = Layer.unwrapEffect(
  Effect.map(WebhookSettings, (settings) => webhookHttpClientLayer({ allowPrivate: settings.allowPrivate }))
)

/**
 * What `deliverWebhook` needs (DeliverWebhook): the delivery rows, image records (the status JSON
 * is built at delivery time), the webhook queue (the next attempt is sent back with its delay) and
 * its DLQ (`IMGPIPE_WEBHOOK_DLQ_URL`), the settings, the SSRF guard's resolver and the HTTP client.
 * Still needs a database; tests give it theirs.
 */
export const DeliverWebhookServices = Layer.mergeAll(
  WebhookDeliveriesSql,
  ImageRepositorySql,
  SqsWebhookDeadLetterFromClient,
  WebhookHttpClientLive,
  NodeResolverLive,
  LogLevelLive
).pipe(Layer.provideMerge(Layer.mergeAll(SqsWebhookQueueLive, WebhookSettingsLive)))

export const DeliverWebhookLive = DeliverWebhookServices.pipe(Layer.provide(FunctionDatabaseLive))
