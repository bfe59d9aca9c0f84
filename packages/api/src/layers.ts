/**
 * The ECS API's one choice of implementations: PostgreSQL at `DATABASE_URL` (RDS Proxy) and S3.
 * The API only creates records and signs URLs, so it needs neither the queues nor sharp.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { dbPoolSizeConfig, portConfig, SettingsLive } from "@imgpipe/core"
import { S3StorageLive } from "@imgpipe/core/aws/S3Storage"
import { pgLayer } from "@imgpipe/core/sql/client"
import { ChangeFeedSql } from "@imgpipe/core/sql/ChangeFeedSql"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { WebhookDeliveryLive } from "@imgpipe/core/util/ssrf"
import { Effect, Layer } from "effect"
import type { Server } from "node:http"
import { makeHttpServer } from "./Http.js"

/** Pool size per task: requests that touch the database wait for one of these connections. */
export const poolSizeConfig = dbPoolSizeConfig(10)

/** The core services the API uses; the database is given separately (tests give theirs). */
export const ApiServices = Layer.mergeAll(
  ImageRepositorySql,
  S3StorageLive,
  // One change feed per task for the event streams (it reads what the Lambdas write).
  ChangeFeedSql.pipe(Layer.provide(ImageRepositorySql)),
  SettingsLive,
  // callback_url's check and the stage-wide IMGPIPE_WEBHOOK_URL (requestUpload).
  WebhookDeliveryLive
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
