/**
 * AWS: a webhook message that comes back from `webhooks-dlq-<stage>` (an operator's SQS redrive,
 * `aws sqs start-message-move-task --source-arn <webhook DLQ>`) names a delivery that gave up. Its
 * row is reopened first (a fresh 24 h window, due now), so that the redrive delivers it again
 * instead of finding the row done. The other given-up deliveries of the same image are reopened
 * with it (undispatched: the reconciler sends them). Nothing happens to a row that is still open
 * or was delivered (a message the redrive policy dead-lettered while the row was open).
 */
import { Effect, Option } from "effect"
import type { DatabaseError } from "../domain/errors.js"
import type { WebhookEventId } from "../domain/webhook.js"
import { WebhookDeliveries } from "../services/WebhookDeliveries.js"

/** Reopens the delivery `eventId` if it gave up; true when it did. */
export const reopenGivenUpWebhook = (
  eventId: WebhookEventId
): Effect.Effect<boolean, DatabaseError, WebhookDeliveries> =>
  Effect.gen(function* () {
    const deliveries = yield* WebhookDeliveries
    const row = yield* deliveries.find(eventId)
    if (Option.isNone(row) || row.value.givenUpAt === null || row.value.deliveredAt !== null) return false
    const reopened = yield* deliveries.redrive({ imageIds: [row.value.imageId], limit: 100 })
    if (reopened.includes(eventId)) {
      yield* Effect.logInfo("webhook redriven from the dead-letter queue").pipe(
        Effect.annotateLogs({ event_id: eventId, reopened: reopened.length })
      )
      return true
    }
    return false
  }).pipe(Effect.withSpan("reopenGivenUpWebhook"))
