import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schema } from "effect"
import { QueueError } from "../domain/errors.js"
import { IMAGE_SIZES, ImageSize } from "../domain/sizes.js"
import { QueueAdmin, type QueueStats, type RedriveResult } from "../services/QueueAdmin.js"
import { WebhookDeliveries } from "../services/WebhookDeliveries.js"
import { Int8 } from "../sql/rows.js"
import { LocalQueue } from "./LocalQueue.js"
import { queueError } from "./PgQueue.js"

/**
 * `QueueAdmin` over the embedded runner's job tables (`jobs`, `dead_jobs`, see `PgQueue.ts`): the
 * three size queues and one dead-letter queue (every size's dead jobs, as the one SQS dead-letter
 * queue of the AWS stage); then the webhook deliveries, whose table is the embedded webhook queue
 * (`webhooks`: open deliveries, waiting or between retries; `webhooks_dead_letter`: given up).
 * Times are the database's `now()`.
 */

const StatsRow = Schema.Struct({
  queue: Schema.Union(ImageSize, Schema.Literal("dead_letter")),
  visible: Int8,
  not_visible: Int8,
  oldest_age_seconds: Schema.NullOr(Schema.Union(Schema.Number, Schema.NumberFromString))
})
const decodeStats = Schema.decodeUnknown(Schema.Array(StatsRow))

const WEBHOOK_REDRIVE_BATCH = 500

export const make = Effect.gen(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const local = yield* LocalQueue
  const webhooks = yield* WebhookDeliveries

  // Dead jobs keep their `created_at`: the age is the message's, as SQS keeps a dead-lettered
  // message's first enqueue time.
  const stats = sql`
    SELECT queue,
           count(*) FILTER (WHERE visible_at <= now()) AS visible,
           count(*) FILTER (WHERE visible_at > now()) AS not_visible,
           EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age_seconds
    FROM jobs GROUP BY queue
    UNION ALL
    SELECT 'dead_letter', count(*), 0, EXTRACT(EPOCH FROM now() - min(created_at))::float8
    FROM dead_jobs`.pipe(
    Effect.flatMap(decodeStats),
    Effect.map((rows): ReadonlyArray<QueueStats> => {
      const byQueue = new Map(rows.map((row) => [row.queue, row] as const))
      return [...IMAGE_SIZES, "dead_letter" as const].map((name): QueueStats => {
        const row = byQueue.get(name)
        return {
          name,
          deadLetter: name === "dead_letter",
          depth: row?.visible ?? 0,
          inFlight: row?.not_visible ?? 0,
          oldestAgeSeconds: row?.oldest_age_seconds === null || row === undefined
            ? null
            : Math.max(0, Math.round(row.oldest_age_seconds * 10) / 10)
        }
      })
    }),
    Effect.mapError(queueError("stats")),
    Effect.zipWith(
      webhooks.stats.pipe(Effect.mapError((e) => new QueueError({ operation: "stats", message: e.message }))),
      (jobs, deliveries): ReadonlyArray<QueueStats> => [
        ...jobs,
        {
          name: "webhooks",
          deadLetter: false,
          depth: deliveries.open,
          inFlight: 0,
          oldestAgeSeconds: deliveries.oldestOpenSeconds
        },
        { name: "webhooks_dead_letter", deadLetter: true, depth: deliveries.dead, inFlight: 0, oldestAgeSeconds: null }
      ]
    ),
    Effect.withSpan("QueueAdmin.stats")
  )

  /** Every given-up delivery gets a fresh window, a bounded batch at a time. */
  const redriveWebhooks = Effect.iterate({ total: 0, last: WEBHOOK_REDRIVE_BATCH }, {
    while: (state) => state.last === WEBHOOK_REDRIVE_BATCH,
    body: (state) =>
      Effect.map(webhooks.redrive({ limit: WEBHOOK_REDRIVE_BATCH }), (ids) => ({
        total: state.total + ids.length,
        last: ids.length
      }))
  }).pipe(
    Effect.map((state) => state.total),
    Effect.mapError((e) => new QueueError({ operation: "redrive", message: e.message }))
  )

  // Each size's dead jobs back to its queue, receive count reset (`LocalQueue.redrive`).
  const redrive = Effect.forEach(IMAGE_SIZES, (size) => local.redrive(size)).pipe(
    Effect.zipWith(redriveWebhooks, (moved, deliveries): ReadonlyArray<RedriveResult> => [
      { queue: "dead_letter", messages: moved.reduce((a, b) => a + b, 0), taskHandle: null },
      { queue: "webhooks_dead_letter", messages: deliveries, taskHandle: null }
    ]),
    Effect.withSpan("QueueAdmin.redrive")
  )

  return QueueAdmin.of({ stats, redrive })
})

/** Over the table queues (`LocalQueueLive` provides `LocalQueue`, `WebhookDeliveriesSql` the deliveries). */
export const PgQueueAdminLive: Layer.Layer<
  QueueAdmin,
  never,
  SqlClient.SqlClient | LocalQueue | WebhookDeliveries
> = Layer.effect(
  QueueAdmin,
  make
)
