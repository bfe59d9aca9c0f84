/**
 * The ECS API's one choice of implementations: PostgreSQL at `DATABASE_URL` (RDS Proxy) and S3.
 * The API creates records and signs URLs; only the admin API touches the queues (SQS: reprocessing
 * sends jobs, the statistics, the redrive); it never needs sharp.
 */
import { NodeHttpServer } from "@effect/platform-node"
import {
  dbPoolSizeConfig,
  DeliverySettings,
  DeliverySettingsLive,
  describeDelivery,
  describeWebhooks,
  portConfig,
  SettingsLive,
  WebhookSettings
} from "@imgpipe/core"
import { S3StorageLive } from "@imgpipe/core/aws/S3Storage"
import { SqsClientLive, SqsQueueFromClient } from "@imgpipe/core/aws/SqsQueue"
import { SqsQueueAdminFromClient } from "@imgpipe/core/aws/SqsQueueAdmin"
import { AdminRepositorySql } from "@imgpipe/core/sql/AdminRepositorySql"
import { ChangeFeedSql } from "@imgpipe/core/sql/ChangeFeedSql"
import { pgLayer } from "@imgpipe/core/sql/client"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { WebhookDeliveryLive } from "@imgpipe/core/util/ssrf"
import { Context, Effect, Layer } from "effect"
import type { Server } from "node:http"
import { AdminAuthorizationKeys } from "./authorization.js"
import { makeHttpServer } from "./Http.js"

/** Pool size per task: requests that touch the database wait for one of these connections. */
export const poolSizeConfig = dbPoolSizeConfig(10)

/**
 * The admin API on ECS: the admin records on the same database, one SQS client for reprocessing's
 * sends and the queue statistics, and admin keys from `IMGPIPE_ADMIN_KEYS` (off without them).
 */
export const AdminServicesLive = Layer.mergeAll(
  AdminRepositorySql,
  SqsQueueFromClient,
  SqsQueueAdminFromClient,
  AdminAuthorizationKeys
).pipe(Layer.provide(Layer.merge(SqsClientLive, SettingsLive)))

/** The core services the API uses; the database is given separately (tests give theirs). */
export const ApiServices = Layer.mergeAll(
  AdminServicesLive,
  ImageRepositorySql,
  S3StorageLive,
  SettingsLive,
  // IMGPIPE_DELIVERY (cdn by default: IMGPIPE_CDN_URL, the CloudFront domain, is then required).
  DeliverySettingsLive.pipe(
    Layer.tap((context) => Effect.logInfo(describeDelivery(Context.get(context, DeliverySettings))))
  ),
  // callback_url's check and the stage-wide IMGPIPE_WEBHOOK_URL (requestUpload); the start-up
  // log says whether webhooks are on.
  WebhookDeliveryLive.pipe(
    Layer.tap((context) => Effect.logInfo(describeWebhooks(Context.get(context, WebhookSettings))))
  ),
  // One change feed per task for the event streams (it reads what the Lambdas write).
  ChangeFeedSql.pipe(Layer.provide(ImageRepositorySql))
)

/** PostgreSQL at `DATABASE_URL` (required here: ECS has no embedded database). */
export const ApiDatabaseLive = Layer.unwrapEffect(
  Effect.map(poolSizeConfig, (maxConnections) => pgLayer({ maxConnections }))
)

export const ApiServicesLive = ApiServices.pipe(Layer.provide(ApiDatabaseLive))

/**
 * The HTTP API on `server`, listening on `PORT`, over the AWS services. CORS is off unless
 * `IMGPIPE_CORS_ORIGINS` names the browser apps' origins.
 */
export const makeApiLive = (server: Server) =>
  makeHttpServer({ corsDefault: "off" }).pipe(
    Layer.provide(NodeHttpServer.layerConfig(() => server, { port: portConfig })),
    Layer.provide(ApiServicesLive)
  )
