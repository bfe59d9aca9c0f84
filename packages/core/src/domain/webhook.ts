/**
 * Webhooks (SYSTEM.md, "Integration"): on a terminal status an image with a callback URL gets one
 * delivery row (`webhook_deliveries`, written by a trigger in the same transaction as the status
 * change), delivered at least once, signed, retried with exponential backoff for a day.
 */
import { Schema } from "effect"
import { ImageId } from "./ids.js"

export const WebhookEventType = Schema.Literal("image.ready", "image.failed", "image.expired")
export type WebhookEventType = typeof WebhookEventType.Type

/** The id of one webhook event (one delivery row); the receiver's idempotency key (`Imgpipe-Event-Id`). */
export const WebhookEventId = Schema.UUID.pipe(Schema.brand("WebhookEventId"))
export type WebhookEventId = typeof WebhookEventId.Type

/**
 * The message on the webhook queue (AWS: the body of an SQS message on `webhooks-<stage>`). It only
 * names the delivery: the row holds the URL, the state and the attempts, and the body is built at
 * delivery time from the image as it stands then.
 */
export const WebhookJob = Schema.Struct({ event_id: WebhookEventId })
export type WebhookJob = typeof WebhookJob.Type

/** One row of `webhook_deliveries`. */
export class WebhookDelivery extends Schema.Class<WebhookDelivery>("WebhookDelivery")({
  eventId: WebhookEventId,
  imageId: ImageId,
  type: WebhookEventType,
  url: Schema.String,
  createdAt: Schema.DateFromSelf,
  /** Requests made so far (answered or not). */
  attempts: Schema.Int,
  /** When the next attempt is due (the backoff). */
  nextAttemptAt: Schema.DateFromSelf,
  lastAttemptAt: Schema.NullOr(Schema.DateFromSelf),
  /** A 2xx answer came: done for good. */
  deliveredAt: Schema.NullOr(Schema.DateFromSelf),
  /** Why the last attempt failed (HTTP status, network error, refused destination). */
  lastError: Schema.NullOr(Schema.String),
  /** Retries ran out (the give-up window passed): dead-lettered, until redriven. */
  givenUpAt: Schema.NullOr(Schema.DateFromSelf),
  /** AWS: when the pending attempt was handed to the webhook queue (null: not yet, see `dispatchWebhooks`). */
  dispatchedAt: Schema.NullOr(Schema.DateFromSelf),
  /** Embedded: the W3C trace context of the transition, so the delivery joins its trace (null: none). */
  traceparent: Schema.NullOr(Schema.String)
}) {}

/** The delivery state in the status JSON: the image's latest delivery. */
export interface WebhookSummary {
  readonly attempts: number
  readonly deliveredAt: Date | null
  readonly lastError: string | null
}

/** `POST /upload`'s `callback_url` was refused (SSRF guard, not a URL, or webhooks are off): 400 `invalid_callback_url`. */
export class InvalidCallbackUrl extends Schema.TaggedError<InvalidCallbackUrl>()("InvalidCallbackUrl", {
  message: Schema.String
}) {}
