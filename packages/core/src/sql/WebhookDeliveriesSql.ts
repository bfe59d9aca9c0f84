import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Layer, Option, Schema } from "effect"
import { DatabaseError } from "../domain/errors.js"
import { WebhookEventId } from "../domain/webhook.js"
import { type WebhookClaim, WebhookDeliveries } from "../services/WebhookDeliveries.js"
import { sqlOperation, WebhookDeliveryFromRow } from "./rows.js"

/** An open delivery: neither delivered nor given up. */
const OPEN = "delivered_at IS NULL AND given_up_at IS NULL"

/**
 * `WebhookDeliveries` on PostgreSQL (a server or the embedded PGlite). Every time is the
 * server's `now()`; a claim is one `UPDATE … WHERE <due and unleased>`, so of two concurrent
 * claims (a duplicate SQS message, two pollers) one gets the row and the other a `NotYet`.
 */
export const make = Effect.gen(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()

  const run = sqlOperation("WebhookDeliveries")

  const find = SqlSchema.findOne({
    Request: WebhookEventId,
    Result: WebhookDeliveryFromRow,
    execute: (id) => sql`SELECT * FROM webhook_deliveries WHERE event_id = ${id}`
  })

  const claimRow = SqlSchema.findOne({
    Request: Schema.Struct({ id: WebhookEventId, lease: Schema.Number }),
    Result: WebhookDeliveryFromRow,
    execute: ({ id, lease }) =>
      sql`
      UPDATE webhook_deliveries
      SET lease_until = now() + make_interval(secs => ${lease}::double precision)
      WHERE event_id = ${id}
        AND ${sql.literal(OPEN)}
        AND next_attempt_at <= now()
        AND (lease_until IS NULL OR lease_until <= now())
      RETURNING *`
  })

  /** Why a row could not be claimed: seconds until it is due or its lease ends (null: closed or absent). */
  const waitOf = SqlSchema.findOne({
    Request: WebhookEventId,
    Result: Schema.Struct({ open: Schema.Boolean, wait: Schema.Number }),
    execute: (id) =>
      sql`
      SELECT (${sql.literal(OPEN)}) AS open,
             greatest(0, extract(epoch FROM greatest(next_attempt_at, coalesce(lease_until, next_attempt_at)) - now()))::float8 AS wait
      FROM webhook_deliveries WHERE event_id = ${id}`
  })

  const recordFailureRow = SqlSchema.findOne({
    Request: Schema.Struct({
      id: WebhookEventId,
      error: Schema.String,
      retry: Schema.Number,
      giveUp: Schema.Number
    }),
    Result: WebhookDeliveryFromRow,
    // The give-up decision reads the row as it was (window_started_at) and the statement's now().
    execute: (r) =>
      sql`
      UPDATE webhook_deliveries
      SET attempts = attempts + 1,
          last_attempt_at = now(),
          last_error = ${r.error},
          lease_until = NULL,
          dispatched_at = NULL,
          next_attempt_at = now() + make_interval(secs => ${r.retry}::double precision),
          given_up_at = CASE
            WHEN now() + make_interval(secs => ${r.retry}::double precision)
                 > window_started_at + make_interval(secs => ${r.giveUp}::double precision)
            THEN now() END
      WHERE event_id = ${r.id}
      RETURNING *`
  })

  const listUndispatchedOf = SqlSchema.findAll({
    Request: Schema.Struct({ ids: Schema.Array(Schema.String), limit: Schema.Int }),
    Result: WebhookDeliveryFromRow,
    execute: ({ ids, limit }) =>
      sql`
      SELECT * FROM webhook_deliveries
      WHERE image_id = ANY(${ids}::uuid[]) AND ${sql.literal(OPEN)} AND dispatched_at IS NULL
      ORDER BY created_at LIMIT ${limit}`
  })

  const listStale = SqlSchema.findAll({
    Request: Schema.Struct({ olderThan: Schema.Number, limit: Schema.Int }),
    Result: WebhookDeliveryFromRow,
    execute: ({ limit, olderThan }) =>
      sql`
      SELECT * FROM webhook_deliveries
      WHERE ${sql.literal(OPEN)} AND dispatched_at IS NULL
        AND coalesce(last_attempt_at, created_at) < now() - make_interval(secs => ${olderThan}::double precision)
      ORDER BY created_at LIMIT ${limit}`
  })

  const listDue = SqlSchema.findAll({
    Request: Schema.Int,
    Result: Schema.Struct({ event_id: WebhookEventId }),
    execute: (limit) =>
      sql`
      SELECT event_id FROM webhook_deliveries
      WHERE ${sql.literal(OPEN)} AND next_attempt_at <= now()
        AND (lease_until IS NULL OR lease_until <= now())
      ORDER BY next_attempt_at LIMIT ${limit}`
  })

  const redriveRows = SqlSchema.findAll({
    Request: Schema.Struct({ ids: Schema.NullOr(Schema.Array(Schema.String)), limit: Schema.Int }),
    Result: Schema.Struct({ event_id: WebhookEventId }),
    execute: ({ ids, limit }) =>
      sql`
      UPDATE webhook_deliveries
      SET given_up_at = NULL, window_started_at = now(), next_attempt_at = now(), lease_until = NULL,
          dispatched_at = NULL
      WHERE event_id IN (
        SELECT event_id FROM webhook_deliveries
        WHERE given_up_at IS NOT NULL AND delivered_at IS NULL
          AND (${ids === null}::boolean OR image_id = ANY(${ids ?? []}::uuid[]))
        ORDER BY given_up_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING event_id`
  })

  const stats = SqlSchema.findOne({
    Request: Schema.Void,
    Result: Schema.Struct({
      open: Schema.Number,
      dead: Schema.Number,
      oldest: Schema.NullOr(Schema.Number)
    }),
    execute: () =>
      sql`
      SELECT (count(*) FILTER (WHERE ${sql.literal(OPEN)}))::float8 AS open,
             (count(*) FILTER (WHERE given_up_at IS NOT NULL AND delivered_at IS NULL))::float8 AS dead,
             extract(epoch FROM now() - min(created_at) FILTER (WHERE ${sql.literal(OPEN)}))::float8 AS oldest
      FROM webhook_deliveries`
  })

  return WebhookDeliveries.of({
    find: (eventId) => find(eventId).pipe(run("find")),

    claim: (eventId, leaseSeconds) =>
      Effect.gen(function* () {
        const claimed = yield* claimRow({ id: eventId, lease: leaseSeconds })
        if (Option.isSome(claimed)) return { _tag: "Claimed", delivery: claimed.value } satisfies WebhookClaim
        const state = yield* waitOf(eventId)
        if (Option.isNone(state) || !state.value.open) return { _tag: "Done" } satisfies WebhookClaim
        // A lease that just ended or a row due by now: try again in a second.
        return { _tag: "NotYet", seconds: Math.max(1, state.value.wait) } satisfies WebhookClaim
      }).pipe(run("claim")),

    recordDelivered: (eventId) =>
      sql`
        UPDATE webhook_deliveries
        SET attempts = attempts + 1, last_attempt_at = now(), delivered_at = now(), lease_until = NULL,
            last_error = NULL
        WHERE event_id = ${eventId} AND delivered_at IS NULL
      `.pipe(Effect.asVoid, run("recordDelivered")),

    recordFailure: (eventId, input) =>
      recordFailureRow({ id: eventId, error: input.error, retry: input.retrySeconds, giveUp: input.giveUpAfterSeconds })
        .pipe(
          Effect.flatMap(Option.match({
            onNone: () =>
              Effect.fail(new DatabaseError({ operation: "recordFailure", message: `no delivery ${eventId}` })),
            onSome: Effect.succeed
          })),
          run("recordFailure")
        ),

    listUndispatched: (input) =>
      (input.imageIds !== undefined
        ? listUndispatchedOf({ ids: input.imageIds, limit: input.limit })
        : listStale({ olderThan: input.olderThanSeconds ?? 60, limit: input.limit })).pipe(run("listUndispatched")),

    recordTraceparent: (imageIds, traceparent) =>
      imageIds.length === 0
        ? Effect.void
        : sql`
        UPDATE webhook_deliveries SET traceparent = ${traceparent}
        WHERE image_id = ANY(${imageIds}::uuid[]) AND traceparent IS NULL AND attempts = 0
          AND ${sql.literal(OPEN)}
      `.pipe(Effect.asVoid, run("recordTraceparent")),

    markDispatched: (eventIds) =>
      eventIds.length === 0
        ? Effect.void
        : sql`
        UPDATE webhook_deliveries SET dispatched_at = now()
        WHERE event_id = ANY(${eventIds}::uuid[])
      `.pipe(Effect.asVoid, run("markDispatched")),

    listDue: (limit) => listDue(limit).pipe(Effect.map((rows) => rows.map((row) => row.event_id)), run("listDue")),

    redrive: (input) =>
      redriveRows({ ids: input.imageIds ?? null, limit: input.limit }).pipe(
        Effect.map((rows) => rows.map((row) => row.event_id)),
        run("redrive")
      ),

    stats: stats(undefined).pipe(
      Effect.map(Option.match({
        onNone: () => ({ open: 0, dead: 0, oldestOpenSeconds: null }),
        onSome: (row) => ({ open: row.open, dead: row.dead, oldestOpenSeconds: row.oldest })
      })),
      run("stats")
    )
  })
})

/** `WebhookDeliveries` over whichever `SqlClient` the runtime provides. */
export const WebhookDeliveriesSql: Layer.Layer<WebhookDeliveries, never, SqlClient.SqlClient> = Layer.effect(
  WebhookDeliveries,
  make
)
