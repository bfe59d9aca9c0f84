/**
 * Reading the AWS event shapes the handlers receive: S3 notifications (direct, or as the bodies of
 * the ingest queue's SQS messages) and SQS batches of jobs. Each record is decoded on its own, so
 * one odd record (a test event, a key we cannot decode, a malformed body) is skipped or
 * acknowledged without taking its neighbours down.
 */
import { type ObjectCreated, ProcessJob } from "@imgpipe/core"
import { type WebhookEventId, WebhookJob } from "@imgpipe/core/domain/webhook"
import { Either, Schema } from "effect"

// ---- S3 ObjectCreated notifications ----------------------------------------------------------

const S3Record = Schema.Struct({
  eventName: Schema.String,
  s3: Schema.Struct({
    bucket: Schema.Struct({ name: Schema.String }),
    object: Schema.Struct({ key: Schema.String, size: Schema.optional(Schema.Number) })
  })
})

/**
 * The notification envelope. `Records` is absent from the `s3:TestEvent` S3 sends when the
 * notification is configured, which is therefore an event with nothing to do.
 */
const S3Notification = Schema.Struct({ Records: Schema.optional(Schema.Array(Schema.Unknown)) })

const decodeS3Record = Schema.decodeUnknownEither(S3Record)
const decodeS3Notification = Schema.decodeUnknownEither(S3Notification)

/**
 * S3 event keys are URL-encoded as in a form: `+` for a space, `%XX` for the rest
 * (`a+b%2Bc.jpg` is the key `a b+c.jpg`). Undefined when the encoding is broken.
 */
export const decodeS3Key = (encoded: string): string | undefined => {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

export type S3RecordParse =
  | { readonly _tag: "Created"; readonly bucket: string; readonly event: ObjectCreated }
  | { readonly _tag: "Skipped"; readonly reason: string; readonly key?: string }

/** Every record of an S3 notification: an object created, or why it is skipped. */
export const parseS3Event = (event: unknown): ReadonlyArray<S3RecordParse> => {
  const envelope = decodeS3Notification(event)
  if (Either.isLeft(envelope)) return [{ _tag: "Skipped", reason: "not an S3 notification" }]
  return (envelope.right.Records ?? []).map((raw): S3RecordParse => {
    const record = decodeS3Record(raw)
    if (Either.isLeft(record)) return { _tag: "Skipped", reason: "malformed S3 record" }
    const { eventName, s3 } = record.right
    const key = decodeS3Key(s3.object.key)
    if (key === undefined) return { _tag: "Skipped", reason: "key is not valid URL encoding", key: s3.object.key }
    if (!eventName.startsWith("ObjectCreated:")) return { _tag: "Skipped", reason: `event ${eventName}`, key }
    const size = s3.object.size
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      return { _tag: "Skipped", reason: "record has no object size", key }
    }
    return { _tag: "Created", bucket: s3.bucket.name, event: { key, bytes: size } }
  })
}

// ---- SQS messages ----------------------------------------------------------------------------

const SqsRecord = Schema.Struct({
  messageId: Schema.String,
  body: Schema.String,
  attributes: Schema.optional(Schema.Struct({ ApproximateReceiveCount: Schema.optional(Schema.String) }))
})

const SqsEvent = Schema.Struct({ Records: Schema.Array(Schema.Unknown) })

const decodeSqsRecord = Schema.decodeUnknownEither(SqsRecord)
const decodeSqsEvent = Schema.decodeUnknownEither(SqsEvent)
const decodeJob = Schema.decodeUnknownEither(Schema.parseJson(ProcessJob))

export type SqsRecordParse =
  | { readonly _tag: "Job"; readonly messageId: string; readonly job: ProcessJob; readonly receiveCount: number }
  | {
    readonly _tag: "Malformed"
    readonly messageId: string | undefined
    readonly reason: string
    readonly body?: string
  }

/** Bodies are logged when malformed; a bounded excerpt is enough to find the sender. */
const excerpt = (body: string): string => (body.length > 200 ? `${body.slice(0, 200)}…` : body)

/**
 * Every record of an SQS batch: a job with its delivery count, or why it cannot be one.
 * `ApproximateReceiveCount` counts this delivery; a missing or odd value counts as the first.
 */
export const parseSqsEvent = (event: unknown): ReadonlyArray<SqsRecordParse> => {
  const envelope = decodeSqsEvent(event)
  if (Either.isLeft(envelope)) return [{ _tag: "Malformed", messageId: undefined, reason: "not an SQS event" }]
  return envelope.right.Records.map((raw): SqsRecordParse => {
    const record = decodeSqsRecord(raw)
    if (Either.isLeft(record)) return { _tag: "Malformed", messageId: undefined, reason: "malformed SQS record" }
    const { attributes, body, messageId } = record.right
    const job = decodeJob(body)
    if (Either.isLeft(job)) {
      return {
        _tag: "Malformed",
        messageId,
        reason: "body is not a job { image_id, raw_key, size }",
        body: excerpt(body)
      }
    }
    const count = Number.parseInt(attributes?.ApproximateReceiveCount ?? "", 10)
    return { _tag: "Job", messageId, job: job.right, receiveCount: Number.isInteger(count) && count > 0 ? count : 1 }
  })
}

// ---- the ingest queue: S3 notifications inside SQS messages -----------------------------------

/** What StartProcessing was invoked with: the ingest queue's SQS batch, or S3's direct event. */
export type StartProcessingInput =
  | { readonly _tag: "Sqs"; readonly messages: ReadonlyArray<IngestMessageParse> }
  | { readonly _tag: "S3"; readonly records: ReadonlyArray<S3RecordParse> }

export type IngestMessageParse =
  /** An S3 notification: its records, each created object or why it is skipped. */
  | { readonly _tag: "Notification"; readonly messageId: string; readonly records: ReadonlyArray<S3RecordParse> }
  /** The `s3:TestEvent` S3 posts once when the notification is configured: nothing to do. */
  | { readonly _tag: "TestEvent"; readonly messageId: string }
  | {
    readonly _tag: "Malformed"
    readonly messageId: string | undefined
    readonly reason: string
    readonly body?: string
  }

const EventSource = Schema.Struct({ eventSource: Schema.Literal("aws:sqs") })
const isSqsRecord = Schema.is(EventSource)

/** A message body S3 posted: a notification with `Records`, or the test event. */
const IngestBody = Schema.Union(
  Schema.Struct({ Records: Schema.Array(Schema.Unknown) }),
  Schema.Struct({ Event: Schema.Literal("s3:TestEvent") })
)
const decodeIngestBody = Schema.decodeUnknownEither(Schema.parseJson(IngestBody))

/**
 * One message of the ingest queue: S3 posts each notification as the message body, the same JSON
 * a direct invocation gets (`{ Records: [...] }`), and once the `s3:TestEvent` (no `Records`).
 */
const parseIngestMessage = (raw: unknown): IngestMessageParse => {
  const record = decodeSqsRecord(raw)
  if (Either.isLeft(record)) return { _tag: "Malformed", messageId: undefined, reason: "malformed SQS record" }
  const { body, messageId } = record.right
  const decoded = decodeIngestBody(body)
  if (Either.isLeft(decoded)) {
    return { _tag: "Malformed", messageId, reason: "body is not an S3 notification", body: excerpt(body) }
  }
  if (!("Records" in decoded.right)) return { _tag: "TestEvent", messageId }
  return { _tag: "Notification", messageId, records: parseS3Event(decoded.right) }
}

/**
 * StartProcessing's event, either shape, every message and record decoded on its own. An event
 * whose records came from SQS (Lambda's event source mapping sets `eventSource: "aws:sqs"` on
 * each) is the ingest queue's batch; anything else is read as S3's direct notification.
 */
export const parseStartProcessingEvent = (event: unknown): StartProcessingInput => {
  const envelope = decodeSqsEvent(event)
  if (Either.isLeft(envelope) || !envelope.right.Records.some(isSqsRecord)) {
    return { _tag: "S3", records: parseS3Event(event) }
  }
  return { _tag: "Sqs", messages: envelope.right.Records.map(parseIngestMessage) }
}

// ---- the webhook queue: one delivery per message ----------------------------------------------

const WebhookRecord = Schema.Struct({
  messageId: Schema.String,
  body: Schema.String,
  messageAttributes: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Struct({ stringValue: Schema.optional(Schema.String) }) })
  )
})
const decodeWebhookRecord = Schema.decodeUnknownEither(WebhookRecord)
const decodeWebhookJob = Schema.decodeUnknownEither(Schema.parseJson(WebhookJob))

export type WebhookMessageParse =
  | {
    readonly _tag: "Delivery"
    readonly messageId: string
    readonly eventId: WebhookEventId
    /** The sender's trace context (`traceparent` message attribute), when tracing was on. */
    readonly traceparent: string | undefined
    /**
     * The message was moved back from the webhook DLQ (it carries the `reason` attribute
     * DeliverWebhook gives the deliveries it dead-letters): its delivery gave up and is reopened.
     */
    readonly redriven: boolean
  }
  | {
    readonly _tag: "Malformed"
    readonly messageId: string | undefined
    readonly reason: string
    readonly body?: string
  }

/** Every record of a `webhooks-<stage>` batch: the delivery it names, or why it names none. */
export const parseWebhookEvent = (event: unknown): ReadonlyArray<WebhookMessageParse> => {
  const envelope = decodeSqsEvent(event)
  if (Either.isLeft(envelope)) return [{ _tag: "Malformed", messageId: undefined, reason: "not an SQS event" }]
  return envelope.right.Records.map((raw): WebhookMessageParse => {
    const record = decodeWebhookRecord(raw)
    if (Either.isLeft(record)) return { _tag: "Malformed", messageId: undefined, reason: "malformed SQS record" }
    const { body, messageAttributes, messageId } = record.right
    const job = decodeWebhookJob(body)
    if (Either.isLeft(job)) {
      return { _tag: "Malformed", messageId, reason: "body is not a webhook job { event_id }", body: excerpt(body) }
    }
    return {
      _tag: "Delivery",
      messageId,
      eventId: job.right.event_id,
      traceparent: messageAttributes?.["traceparent"]?.stringValue,
      redriven: messageAttributes?.["reason"] !== undefined
    }
  })
}
