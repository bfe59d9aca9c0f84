/**
 * The functions' database: PostgreSQL at `DATABASE_URL` (RDS Proxy in AWS), in a module of its own
 * so that a handler whose layers need no sharp or S3 (DeliverWebhook, webhook-layers.ts) can use it
 * without bundling layers.ts.
 */
import { dbPoolSizeConfig } from "@imgpipe/core"
import { pgLayer } from "@imgpipe/core/sql/client"
import { Effect, Layer } from "effect"

/**
 * PostgreSQL at `DATABASE_URL` (RDS Proxy in AWS) with a small pool: every warm container keeps its
 * own, and the proxy multiplexes them onto the database. Two covers a batch processed two at a time.
 */
export const FunctionDatabaseLive = Layer.unwrapEffect(
  Effect.map(dbPoolSizeConfig(2), (maxConnections) => pgLayer({ maxConnections }))
)
