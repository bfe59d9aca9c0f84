/**
 * The DeliverWebhook Lambda handler on the emulated AWS path: fauxqs's `webhooks-test` queue and
 * its DLQ, the test database (PGlite, or PostgreSQL with TEST_DATABASE_URL), the production layer
 * (`DeliverWebhookServices`) run as `LambdaHandler.make` runs it, and a real HTTP receiver. Each
 * delivery is a row the images trigger wrote (an image with a callback URL became `failed`); the
 * message is sent by the production `SqsWebhookQueue` and handed over by the emulated mapping.
 */
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { type ImageId, ImageRepository, newImageId } from "@imgpipe/core"
import type { WebhookEventId } from "@imgpipe/core/domain/webhook"
import { WebhookQueue } from "@imgpipe/core/services/WebhookQueue"
import type { Database } from "@imgpipe/core/sql/client"
import { TestDatabase, testDatabaseKind } from "@imgpipe/core/test/support/database"
import type { SQSEvent } from "aws-lambda"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime, type Scope } from "effect"
import { deliverWebhookHandler } from "../src/deliver-webhook.js"
import { DeliverWebhookServices } from "../src/layers.js"
import { type AwsEmulator, makeAwsEmulator, stageNames } from "../src/local/emulator.js"
import { type LambdaFunction, pollWebhooksOnce } from "../src/local/event-sources.js"
import { makeReceiver, type Receiver, signatureValid } from "./support/receiver.js"

const KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" } as const
const SECRET = "whsec-test-0123456789"

interface Harness {
  readonly emulator: AwsEmulator
  readonly deliver: LambdaFunction<SQSEvent, unknown>
  readonly queue: WebhookQueue["Type"]
  readonly repository: ImageRepository["Type"]
  readonly receiver: Receiver
}
class Aws extends Context.Tag("test/DeliverWebhookAws")<Aws, Harness>() {}

const makeHarness: Effect.Effect<Harness, unknown, Scope.Scope | Database> = Effect.gen(function* () {
  const database = yield* Effect.context<Database>()
  const emulator = yield* makeAwsEmulator({
    port: 0,
    region: "us-east-1",
    keys: KEYS,
    ...stageNames("test"),
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 3
  })
  const env = {
    ...emulator.env,
    IMGPIPE_LOG_LEVEL: "Error",
    IMGPIPE_WEBHOOK_SECRET: SECRET,
    // The receiver is on loopback; and a 1 s base keeps a retry within the test.
    IMGPIPE_WEBHOOK_ALLOW_PRIVATE: "true",
    IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: "1",
    IMGPIPE_WEBHOOK_TIMEOUT_SECONDS: "5"
  }
  const runtime = yield* Effect.acquireRelease(
    Effect.sync(() =>
      ManagedRuntime.make(
        DeliverWebhookServices.pipe(
          Layer.provide(Layer.succeedContext(database)),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
        )
      )
    ),
    (rt) => rt.disposeEffect
  )
  const context = (yield* runtime.runtimeEffect).context
  return {
    emulator,
    deliver: (event, lambda) => runtime.runPromise(deliverWebhookHandler(event, lambda)),
    queue: Context.get(context, WebhookQueue),
    repository: Context.get(context, ImageRepository),
    receiver: yield* makeReceiver
  }
})

const TestLayer = Layer.scoped(Aws, makeHarness).pipe(Layer.provideMerge(TestDatabase), Layer.orDie)

/** An image with `callbackUrl` refused: `failed`, and the trigger's delivery row. */
const failedImageWithWebhook = (callbackUrl: string) =>
  Effect.gen(function* () {
    const { repository } = yield* Aws
    const id: ImageId = yield* newImageId
    yield* repository.create({
      id,
      declaredContentType: "image/jpeg",
      declaredBytes: 1000,
      uploadExpiresAt: new Date(Date.now() + 900_000),
      callbackUrl
    })
    yield* repository.markRejected(id, { code: "not_an_image", message: "the bytes are not an image" })
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ event_id: string }>`SELECT event_id FROM webhook_deliveries WHERE image_id = ${id}`
    expect(rows).toHaveLength(1)
    return { id, eventId: rows[0]!.event_id as WebhookEventId }
  }).pipe(Effect.orDie)

const delivery = (eventId: WebhookEventId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ attempts: number; delivered: boolean; given_up: boolean; last_error: string | null }>`
      SELECT attempts, delivered_at IS NOT NULL AS delivered, given_up_at IS NOT NULL AS given_up, last_error
      FROM webhook_deliveries WHERE event_id = ${eventId}`
    return rows[0]
  }).pipe(Effect.orDie)

const MAPPING = { batchSize: 10, waitTimeSeconds: 1, timeoutMs: 30_000 }

/** One poll of the webhook queue by DeliverWebhook's mapping, waiting up to `seconds` for a message. */
const pollUntilReceived = (seconds: number) =>
  Effect.gen(function* () {
    const { deliver, emulator } = yield* Aws
    const deadline = Date.now() + seconds * 1000
    for (;;) {
      const outcome = yield* pollWebhooksOnce(emulator, deliver, MAPPING)
      if (outcome.received > 0 || Date.now() > deadline) return outcome
    }
  }).pipe(Effect.orDie)

/** Everything on a queue right now (received, so hidden for the visibility timeout): bodies and attributes. */
const drain = (queueUrl: string) =>
  Effect.gen(function* () {
    const { emulator } = yield* Aws
    const out = yield* Effect.promise(() =>
      emulator.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"]
        })
      )
    )
    return (out.Messages ?? []).map((m) => ({
      body: JSON.parse(m.Body ?? "null") as unknown,
      reason: m.MessageAttributes?.["reason"]?.StringValue
    }))
  })

layer(TestLayer, { timeout: 60_000 })(`DeliverWebhook on fauxqs (${testDatabaseKind})`, (it) => {
  it.effect("delivers a signed image.failed once and acknowledges the message", () =>
    Effect.gen(function* () {
      const { emulator, queue, receiver } = yield* Aws
      receiver.answer(200)
      const before = receiver.received.length
      const { eventId, id } = yield* failedImageWithWebhook(receiver.url)
      yield* queue.send([{ eventId, delaySeconds: 0 }])

      const outcome = yield* pollUntilReceived(5)
      expect(outcome).toMatchObject({ received: 1, deleted: 1, retried: 0 })
      const got = receiver.received.slice(before)
      expect(got).toHaveLength(1)
      expect(signatureValid(SECRET, got[0]!)).toBe(true)
      expect(signatureValid("another-secret", got[0]!)).toBe(false)
      expect(got[0]!.headers["imgpipe-event-id"]).toBe(eventId)
      expect(JSON.parse(got[0]!.body)).toMatchObject({
        id: eventId,
        type: "image.failed",
        data: { image_id: id, status: "failed" }
      })
      expect(yield* delivery(eventId)).toMatchObject({ attempts: 1, delivered: true, given_up: false })
      // Done: no next attempt on the queue, nothing dead-lettered.
      expect(yield* drain(emulator.webhookQueue.url)).toEqual([])
      expect(yield* drain(emulator.webhookDeadLetterQueue.url)).toEqual([])
    }))

  it.effect("retries after a 500: the next attempt is a new message delayed by the backoff, then delivered", () =>
    Effect.gen(function* () {
      const { queue, receiver } = yield* Aws
      receiver.answer(500, 200)
      const before = receiver.received.length
      const { eventId } = yield* failedImageWithWebhook(receiver.url)
      yield* queue.send([{ eventId, delaySeconds: 0 }])

      // The failed attempt is recorded and its message acknowledged: the retry is a new message.
      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1, retried: 0 })
      expect(yield* delivery(eventId)).toMatchObject({ attempts: 1, delivered: false, last_error: "HTTP 500" })

      expect(yield* pollUntilReceived(10)).toMatchObject({ received: 1, deleted: 1 })
      const got = receiver.received.slice(before)
      expect(got.map((w) => w.headers["imgpipe-event-id"])).toEqual([eventId, eventId])
      expect(got.every((w) => signatureValid(SECRET, w))).toBe(true)
      expect(yield* delivery(eventId)).toMatchObject({ attempts: 2, delivered: true })
      // A 2xx ends it: a duplicate of the message delivers nothing again.
      yield* queue.send([{ eventId, delaySeconds: 0 }])
      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1 })
      expect(receiver.received.slice(before)).toHaveLength(2)
    }))

  it.effect("a duplicate message while a retry is pending never delivers twice", () =>
    Effect.gen(function* () {
      const { queue, receiver } = yield* Aws
      receiver.answer(500, 200)
      const before = receiver.received.length
      const { eventId } = yield* failedImageWithWebhook(receiver.url)
      yield* queue.send([{ eventId, delaySeconds: 0 }])
      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1 })
      // The retry is due in ~1 s; a duplicate arrives now (at least once delivery, or a redispatch).
      yield* queue.send([{ eventId, delaySeconds: 0 }])
      const deadline = Date.now() + 15_000
      while (receiver.received.length - before < 2 && Date.now() < deadline) {
        yield* pollUntilReceived(2)
      }
      // Drain whatever is still in flight: each finds the row delivered and does nothing.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 1500)))
      yield* pollUntilReceived(2)
      expect(receiver.received.slice(before).map((w) => w.headers["imgpipe-event-id"])).toEqual([eventId, eventId])
      expect(yield* delivery(eventId)).toMatchObject({ attempts: 2, delivered: true })
    }))

  it.effect("moves a delivery that gave up (24 h of retries) to the webhook DLQ; a redrive of it delivers again", () =>
    Effect.gen(function* () {
      const { emulator, queue, receiver } = yield* Aws
      receiver.answer(503)
      const before = receiver.received.length
      const { eventId } = yield* failedImageWithWebhook(receiver.url)
      // The retry window began a day ago: this attempt is the last.
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE webhook_deliveries
        SET created_at = now() - interval '25 hours', window_started_at = now() - interval '25 hours'
        WHERE event_id = ${eventId}`.pipe(Effect.orDie)
      yield* queue.send([{ eventId, delaySeconds: 0 }])

      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1, retried: 0 })
      expect(receiver.received.slice(before)).toHaveLength(1)
      expect(yield* delivery(eventId)).toMatchObject({ given_up: true, delivered: false, last_error: "HTTP 503" })
      expect(yield* drain(emulator.webhookDeadLetterQueue.url)).toEqual([
        { body: { event_id: eventId }, reason: "HTTP 503" }
      ])
      // No further attempt was scheduled.
      expect(yield* drain(emulator.webhookQueue.url)).toEqual([])

      // An operator redrives the DLQ (StartMessageMoveTask moves body and attributes back; fauxqs
      // has no move task, so the test moves the message): the row reopens and the delivery is made.
      receiver.answer(200)
      yield* Effect.promise(() =>
        emulator.sqs.send(
          new SendMessageCommand({
            QueueUrl: emulator.webhookQueue.url,
            MessageBody: JSON.stringify({ event_id: eventId }),
            MessageAttributes: { reason: { DataType: "String", StringValue: "HTTP 503" } }
          })
        )
      )
      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1, retried: 0 })
      expect(receiver.received.slice(before)).toHaveLength(2)
      expect(yield* delivery(eventId)).toMatchObject({ given_up: false, delivered: true, attempts: 2 })
    }))

  it.effect("acknowledges a malformed message without a request", () =>
    Effect.gen(function* () {
      const { emulator, receiver } = yield* Aws
      const before = receiver.received.length
      yield* Effect.promise(() =>
        emulator.sqs.send(new SendMessageCommand({ QueueUrl: emulator.webhookQueue.url, MessageBody: "{\"nope\":1}" }))
      )
      expect(yield* pollUntilReceived(5)).toMatchObject({ received: 1, deleted: 1, retried: 0 })
      expect(receiver.received.slice(before)).toHaveLength(0)
      expect(yield* drain(emulator.webhookDeadLetterQueue.url)).toEqual([])
    }))
})
