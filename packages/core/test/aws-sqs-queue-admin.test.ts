/**
 * `QueueAdmin` on SQS, against fauxqs in this process: the size queues' counts, the dead-letter
 * queue found through their redrive policy, and the redrive as `StartMessageMoveTask` from it.
 * fauxqs does not implement `StartMessageMoveTask` (its README lists it as unsupported), so the
 * emulator's server answers that one action itself, recording what SQS would have been asked.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand
} from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SqsQueueAdminLive } from "../src/aws/SqsQueueAdmin.js"
import { QueueAdmin } from "../src/services/QueueAdmin.js"
import { type Fauxqs, startFauxqs } from "./support/fauxqs.js"

class Emulator extends Context.Tag("test/Emulator")<
  Emulator,
  Fauxqs & { readonly dlqArn: string; readonly hooksDlqArn: string }
>() {}

/** Bodies of the `StartMessageMoveTask` requests the server received. */
const moveTasks: Array<unknown> = []

const SIZES = ["small", "medium", "large"] as const

const EmulatorLive = Layer.scoped(
  Emulator,
  Effect.gen(function* () {
    const emulator = yield* startFauxqs({
      buckets: [],
      queues: [{ name: "q-dlq" }],
      configure: (app) => {
        app.addHook("preHandler", async (request, reply) => {
          if (request.headers["x-amz-target"] !== "AmazonSQS.StartMessageMoveTask") return
          moveTasks.push(typeof request.body === "string" ? JSON.parse(request.body) : request.body)
          await reply.header("content-type", "application/x-amz-json-1.0").send({
            TaskHandle: `task-${moveTasks.length}`
          })
        })
      }
    })
    const dlqUrl = emulator.queueUrls["q-dlq"] ?? ""
    const attributes = yield* Effect.promise(() =>
      emulator.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))
    )
    const dlqArn = attributes.Attributes?.QueueArn ?? ""
    const queueUrls: Record<string, string> = { ...emulator.queueUrls }
    for (const size of SIZES) {
      const out = yield* Effect.promise(() =>
        emulator.sqs.send(
          new CreateQueueCommand({
            QueueName: `q-${size}`,
            Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: "3" }) }
          })
        )
      )
      queueUrls[`q-${size}`] = out.QueueUrl ?? ""
    }
    // The webhook queue, with a dead-letter queue of its own.
    const hooksDlq = yield* Effect.promise(() =>
      emulator.sqs.send(new CreateQueueCommand({ QueueName: "q-hooks-dlq" }))
    )
    queueUrls["q-hooks-dlq"] = hooksDlq.QueueUrl ?? ""
    const hooksDlqArn = (yield* Effect.promise(() =>
      emulator.sqs.send(new GetQueueAttributesCommand({ QueueUrl: hooksDlq.QueueUrl, AttributeNames: ["QueueArn"] }))
    )).Attributes?.QueueArn ?? ""
    const hooks = yield* Effect.promise(() =>
      emulator.sqs.send(
        new CreateQueueCommand({
          QueueName: "q-hooks",
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: hooksDlqArn, maxReceiveCount: "8" }) }
        })
      )
    )
    queueUrls["q-hooks"] = hooks.QueueUrl ?? ""
    return { ...emulator, queueUrls, dlqArn, hooksDlqArn }
  })
)

const AdminLive = Layer.unwrapEffect(
  Effect.map(Emulator, (emulator) =>
    SqsQueueAdminLive.pipe(
      Layer.provide(Layer.setConfigProvider(emulator.configProvider({
        IMGPIPE_QUEUE_SMALL_URL: emulator.queueUrls["q-small"] ?? "",
        IMGPIPE_QUEUE_MEDIUM_URL: emulator.queueUrls["q-medium"] ?? "",
        IMGPIPE_QUEUE_LARGE_URL: emulator.queueUrls["q-large"] ?? "",
        IMGPIPE_WEBHOOK_QUEUE_URL: emulator.queueUrls["q-hooks"] ?? ""
      })))
    ))
)

const send = (queue: string, count: number) =>
  Effect.flatMap(Emulator, (emulator) =>
    Effect.promise(async () => {
      for (let i = 0; i < count; i++) {
        await emulator.sqs.send(new SendMessageCommand({ QueueUrl: emulator.queueUrls[queue], MessageBody: `m${i}` }))
      }
    }))

layer(AdminLive.pipe(Layer.provideMerge(EmulatorLive)), { excludeTestServices: true })(
  "SQS QueueAdmin (fauxqs)",
  (it) => {
    it.effect("counts each size queue (waiting, in flight), the webhook queue, and the dead-letter queue each redrive policy names", () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator
        const admin = yield* QueueAdmin
        yield* send("q-small", 3)
        yield* send("q-large", 2)
        yield* send("q-dlq", 4)
        yield* send("q-hooks", 1)
        yield* send("q-hooks-dlq", 2)
        // Two of the small ones received: in flight.
        yield* Effect.promise(() =>
          emulator.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: emulator.queueUrls["q-small"],
              MaxNumberOfMessages: 2,
              VisibilityTimeout: 60
            })
          )
        )
        const stats = yield* admin.stats
        expect(stats).toEqual([
          { name: "small", deadLetter: false, depth: 1, inFlight: 2, oldestAgeSeconds: null },
          { name: "medium", deadLetter: false, depth: 0, inFlight: 0, oldestAgeSeconds: null },
          { name: "large", deadLetter: false, depth: 2, inFlight: 0, oldestAgeSeconds: null },
          { name: "webhooks", deadLetter: false, depth: 1, inFlight: 0, oldestAgeSeconds: null },
          { name: "dead_letter", deadLetter: true, depth: 4, inFlight: 0, oldestAgeSeconds: null },
          { name: "webhooks_dead_letter", deadLetter: true, depth: 2, inFlight: 0, oldestAgeSeconds: null }
        ])
      }))

    it.effect("redrives with StartMessageMoveTask from the dead-letter queue to each message's source", () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator
        const admin = yield* QueueAdmin
        const results = yield* admin.redrive
        expect(results).toEqual([
          { queue: "dead_letter", messages: 4, taskHandle: "task-1" },
          { queue: "webhooks_dead_letter", messages: 2, taskHandle: "task-2" }
        ])
        // No DestinationArn: SQS sends each message back to the queue it came from.
        expect(moveTasks).toEqual([{ SourceArn: emulator.dlqArn }, { SourceArn: emulator.hooksDlqArn }])
      }))

    it.effect("starts no task for an empty dead-letter queue", () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator
        const admin = yield* QueueAdmin
        // Nothing waiting there any more (received: in flight, as if the move task had them).
        yield* Effect.promise(async () => {
          for (let i = 0; i < 10; i++) {
            await emulator.sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: emulator.queueUrls[i % 2 === 0 ? "q-dlq" : "q-hooks-dlq"],
                MaxNumberOfMessages: 10,
                VisibilityTimeout: 600
              })
            )
          }
        })
        const before = moveTasks.length
        expect(yield* admin.redrive).toEqual([
          { queue: "dead_letter", messages: 0, taskHandle: null },
          { queue: "webhooks_dead_letter", messages: 0, taskHandle: null }
        ])
        expect(moveTasks.length).toBe(before)
      }))
  }
)
