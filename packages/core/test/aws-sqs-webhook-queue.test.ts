/**
 * `WebhookQueue` on SQS (and the webhook DLQ sender), against fauxqs in this process: one message
 * `{ "event_id" }` per delivery, 10 per SendMessageBatch, `DelaySeconds` clamped to SQS's 0–900,
 * the sender's trace as the `traceparent` message attribute, and a refused request surfacing as
 * `QueueError`.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { SQSClientInstance } from "../src/aws/SqsQueue.js"
import {
  SqsWebhookDeadLetter,
  SqsWebhookDeadLetterFromClient,
  SqsWebhookQueueLive
} from "../src/aws/SqsWebhookQueue.js"
import type { WebhookEventId } from "../src/domain/webhook.js"
import { WebhookQueue } from "../src/services/WebhookQueue.js"
import { type Fauxqs, logRequests, type RequestLog, startFauxqs } from "./support/fauxqs.js"

class Emulator extends Context.Tag("test/Emulator")<Emulator, Fauxqs>() {}
class Requests extends Context.Tag("test/Requests")<Requests, RequestLog>() {}

const WEBHOOKS = "webhooks-test"
const DLQ = "webhooks-dlq-test"

const EmulatorLive = Layer.scoped(
  Emulator,
  startFauxqs({ buckets: [], queues: [{ name: WEBHOOKS }, { name: DLQ }] })
)

const QueueLive = Layer.unwrapEffect(
  Effect.map(
    Emulator,
    (emulator) =>
      Layer.merge(SqsWebhookQueueLive, SqsWebhookDeadLetterFromClient.pipe(Layer.provide(SqsWebhookQueueLive))).pipe(
        Layer.provide(Layer.setConfigProvider(emulator.configProvider({
          IMGPIPE_WEBHOOK_QUEUE_URL: emulator.queueUrls[WEBHOOKS] ?? "",
          IMGPIPE_WEBHOOK_DLQ_URL: emulator.queueUrls[DLQ] ?? ""
        })))
      )
  )
)

const TestLayer = Layer.effect(
  Requests,
  Effect.map(SQSClientInstance.SQSClientInstance, (client) => logRequests([client]))
).pipe(Layer.provideMerge(QueueLive), Layer.provideMerge(EmulatorLive))

const eventId = () => randomUUID() as WebhookEventId

/** Everything visible on a queue now: bodies and the `traceparent` / `reason` attributes. */
const drain = (name: string) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator
    const all: Array<{ body: unknown; traceparent?: string | undefined; reason?: string | undefined }> = []
    for (;;) {
      const out = yield* Effect.promise(() =>
        emulator.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: emulator.queueUrls[name],
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ["All"]
          })
        )
      )
      const messages = out.Messages ?? []
      if (messages.length === 0) return all
      all.push(...messages.map((m) => ({
        body: JSON.parse(m.Body ?? "null") as unknown,
        traceparent: m.MessageAttributes?.["traceparent"]?.StringValue,
        reason: m.MessageAttributes?.["reason"]?.StringValue
      })))
    }
  })

layer(TestLayer, { excludeTestServices: true })("SQS WebhookQueue (fauxqs)", (it) => {
  it.effect("sends one { event_id } message per delivery, 10 per SendMessageBatch, not polled", () =>
    Effect.gen(function* () {
      const queue = yield* WebhookQueue
      const requests = yield* Requests
      expect(queue.polled).toBe(false)
      requests.clear()
      const ids = Array.from({ length: 12 }, eventId)
      yield* queue.send(ids.map((id) => ({ eventId: id, delaySeconds: 0 })))
      yield* queue.send([])
      expect(requests.counts()).toEqual({ "SQSClient.SendMessageBatchCommand": 2 })
      const got = yield* drain(WEBHOOKS)
      expect(got.map((m) => m.body).sort()).toEqual(ids.map((id) => ({ event_id: id })).sort())
    }))

  it.effect("delays by DelaySeconds, clamped to SQS's 900 s (longer backoffs hop)", () =>
    Effect.gen(function* () {
      const queue = yield* WebhookQueue
      const requests = yield* Requests
      requests.clear()
      yield* queue.send([
        { eventId: eventId(), delaySeconds: 2.2 },
        { eventId: eventId(), delaySeconds: 3600 },
        { eventId: eventId(), delaySeconds: -5 }
      ])
      const entries = requests.sent[0]?.input["Entries"] as ReadonlyArray<{ DelaySeconds: number }>
      expect(entries.map((e) => e.DelaySeconds)).toEqual([3, 900, 0])
      // Only the undelayed one is visible yet.
      expect(yield* drain(WEBHOOKS)).toHaveLength(1)
    }))

  it.effect("carries the sender's trace as the traceparent attribute", () =>
    Effect.gen(function* () {
      const queue = yield* WebhookQueue
      const id = eventId()
      const traceId = yield* queue.send([{ eventId: id, delaySeconds: 0 }]).pipe(
        Effect.zipRight(Effect.map(Effect.currentSpan, (span) => span.traceId)),
        Effect.withSpan("dispatch")
      )
      const [message] = yield* drain(WEBHOOKS)
      expect(message?.body).toEqual({ event_id: id })
      // The send's span, in the dispatcher's trace: the delivery continues it.
      expect(message?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`))
    }))

  it.effect("puts a given-up delivery on the DLQ with its reason", () =>
    Effect.gen(function* () {
      const deadLetter = yield* SqsWebhookDeadLetter
      const id = eventId()
      yield* deadLetter.send(id, "HTTP 500")
      expect(yield* drain(DLQ)).toEqual([{ body: { event_id: id }, traceparent: undefined, reason: "HTTP 500" }])
    }))

  it.effect("fails with QueueError when SQS refuses the request", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator
      const broken = yield* Layer.build(
        SqsWebhookQueueLive.pipe(
          Layer.provide(Layer.setConfigProvider(emulator.configProvider({
            IMGPIPE_WEBHOOK_QUEUE_URL: `${emulator.queueUrls[WEBHOOKS] ?? ""}-missing`
          })))
        )
      ).pipe(Effect.map(Context.get(WebhookQueue)))
      const result = yield* Effect.either(broken.send([{ eventId: eventId(), delaySeconds: 0 }]))
      expect(Either.isLeft(result) && result.left._tag).toBe("QueueError")
    }).pipe(Effect.scoped))
})
