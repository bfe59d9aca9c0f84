import { Context, type Effect, type Option } from "effect"
import type { DatabaseError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { WebhookDelivery, WebhookEventId } from "../domain/webhook.js"

/** What `claim` found. */
export type WebhookClaim =
  /** The row is due and now leased to the caller until `leaseSeconds` pass (or an outcome is recorded). */
  | { readonly _tag: "Claimed"; readonly delivery: WebhookDelivery }
  /** Nothing to do: no such row, already delivered, or given up. */
  | { readonly _tag: "Done" }
  /** Not due before `seconds` (backoff), or another deliverer holds its lease that long. */
  | { readonly _tag: "NotYet"; readonly seconds: number }

/**
 * The `webhook_deliveries` rows (an outbox: a trigger on `images` inserts one per terminal status
 * change of an image with a `callback_url`, in the same transaction). Times are the store's clock.
 */
export class WebhookDeliveries extends Context.Tag("imgpipe/WebhookDeliveries")<
  WebhookDeliveries,
  {
    readonly find: (eventId: WebhookEventId) => Effect.Effect<Option.Option<WebhookDelivery>, DatabaseError>
    /** Leases a due, open delivery to the caller for `leaseSeconds` (one statement: two callers never both get it). */
    readonly claim: (eventId: WebhookEventId, leaseSeconds: number) => Effect.Effect<WebhookClaim, DatabaseError>
    /** A 2xx: delivered, lease released. */
    readonly recordDelivered: (eventId: WebhookEventId) => Effect.Effect<void, DatabaseError>
    /**
     * A failed attempt: attempts + 1, `lastError`, next attempt in `retrySeconds`, lease released,
     * `dispatchedAt` cleared; given up instead when that next attempt would come later than
     * `giveUpAfterSeconds` after the event (or its redrive). Returns the row as it stands after.
     */
    readonly recordFailure: (
      eventId: WebhookEventId,
      input: { readonly error: string; readonly retrySeconds: number; readonly giveUpAfterSeconds: number }
    ) => Effect.Effect<WebhookDelivery, DatabaseError>
    /** Undispatched open deliveries of `imageIds`, or (no ids) any left undispatched `olderThanSeconds`. */
    readonly listUndispatched: (input: {
      readonly imageIds?: ReadonlyArray<ImageId>
      readonly olderThanSeconds?: number
      readonly limit: number
    }) => Effect.Effect<ReadonlyArray<WebhookDelivery>, DatabaseError>
    /**
     * Embedded: the new (never attempted) open deliveries of `imageIds` carry `traceparent`, the
     * trace of the transition that made them, for the poller's delivery span.
     */
    readonly recordTraceparent: (
      imageIds: ReadonlyArray<ImageId>,
      traceparent: string
    ) => Effect.Effect<void, DatabaseError>
    /** They were handed to the queue. */
    readonly markDispatched: (eventIds: ReadonlyArray<WebhookEventId>) => Effect.Effect<void, DatabaseError>
    /** Embedded poller: up to `limit` due, open, unleased deliveries, oldest due first. */
    readonly listDue: (limit: number) => Effect.Effect<ReadonlyArray<WebhookEventId>, DatabaseError>
    /**
     * Given-up deliveries (all, or those of `imageIds`) get a fresh window: open again, due now,
     * undispatched. Returns the ids redriven. For the admin API.
     */
    readonly redrive: (input: {
      readonly imageIds?: ReadonlyArray<ImageId>
      readonly limit: number
    }) => Effect.Effect<ReadonlyArray<WebhookEventId>, DatabaseError>
    /** Counts for the admin queue statistics: open (waiting or retrying) and given up. */
    readonly stats: Effect.Effect<
      { readonly open: number; readonly dead: number; readonly oldestOpenSeconds: number | null },
      DatabaseError
    >
  }
>() {}
