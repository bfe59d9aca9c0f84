/**
 * `JobQueue` on SQS, against fauxqs in this process: each job lands on its size's queue with the
 * spec's body, sends are batched 10 per request, and entries SQS refuses inside a batch surface
 * as `QueueError`.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option } from "effect"
import { SQSClientInstance, SqsQueueLive } from "../src/aws/SqsQueue.js"
import { newImageId } from "../src/domain/ids.js"
import type { ProcessJob } from "../src/domain/image.js"
import type { ImageSize } from "../src/domain/sizes.js"
import { JobQueue } from "../src/services/JobQueue.js"
import { type Fauxqs, logRequests, receiveBodies, type RequestLog, startFauxqs } from "./support/fauxqs.js"

class Emulator extends Context.Tag("test/Emulator")<Emulator, Fauxqs>() {}
class Requests extends Context.Tag("test/Requests")<Requests, RequestLog>() {}

const QUEUES = { small: "q-small", medium: "q-medium", large: "q-large" } as const

const EmulatorLive = Layer.scoped(
  Emulator,
  startFauxqs({
    buckets: [],
    queues: [
      { name: QUEUES.small },
      { name: QUEUES.medium },
      // Small enough that one oversized job is refused while its batch neighbours go through.
      { name: QUEUES.large, attributes: { MaximumMessageSize: "1024" } }
    ]
  })
)

const QueueLive = Layer.unwrapEffect(
  Effect.map(Emulator, (emulator) =>
    SqsQueueLive.pipe(
      Layer.provide(Layer.setConfigProvider(emulator.configProvider({
        IMGPIPE_QUEUE_SMALL_URL: emulator.queueUrls[QUEUES.small] ?? "",
        IMGPIPE_QUEUE_MEDIUM_URL: emulator.queueUrls[QUEUES.medium] ?? "",
        IMGPIPE_QUEUE_LARGE_URL: emulator.queueUrls[QUEUES.large] ?? ""
      })))
    ))
)

const TestLayer = Layer.effect(
  Requests,
  Effect.map(SQSClientInstance.SQSClientInstance, (client) => logRequests([client]))
).pipe(
  Layer.provideMerge(QueueLive),
  Layer.provideMerge(EmulatorLive)
)

const job = (size: ImageSize, rawKey?: string) =>
  Effect.map(newImageId, (id): ProcessJob => ({ image_id: id, raw_key: rawKey ?? id, size }))

const drain = (size: ImageSize) =>
  Effect.flatMap(Emulator, (emulator) => receiveBodies(emulator.sqs, emulator.queueUrls[QUEUES[size]] ?? ""))

layer(TestLayer, { excludeTestServices: true })("SQS JobQueue (fauxqs)", (it) => {
  it.effect("each job goes to its size's queue as { image_id, raw_key, size }, 10 per SendMessageBatch", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const requests = yield* Requests
      requests.clear()
      const smalls = yield* Effect.all(Array.from({ length: 23 }, () => job("small")))
      const medium = yield* job("medium")
      yield* queue.send([...smalls.slice(0, 12), medium, ...smalls.slice(12)])
      yield* queue.send([])

      const batches = requests.sent.map((
        r
      ) => [r.input["QueueUrl"], (r.input["Entries"] as ReadonlyArray<unknown>).length])
      expect(requests.counts()).toEqual({ "SQSClient.SendMessageBatchCommand": 4 })
      const emulator = yield* Emulator
      expect(batches.filter(([url]) => url === emulator.queueUrls[QUEUES.small]).map(([, n]) => n).sort()).toEqual([
        10,
        10,
        3
      ])
      expect(batches.filter(([url]) => url === emulator.queueUrls[QUEUES.medium]).map(([, n]) => n)).toEqual([1])

      const small = yield* drain("small")
      expect(new Set(small)).toEqual(new Set(smalls))
      expect(yield* drain("medium")).toEqual([medium])
      expect(yield* drain("large")).toEqual([])
    }))

  it.effect("a job SQS refuses inside a batch fails the send with QueueError; the others were sent", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const fine = yield* job("large")
      const oversized = yield* job("large", "x".repeat(2000))
      const result = yield* Effect.either(queue.send([fine, oversized]))
      const error = Either.getLeft(result)
      expect(Option.map(error, (e) => e._tag)).toEqual(Option.some("QueueError"))
      expect(Option.map(error, (e) => e.message)).toEqual(
        Option.some(
          expect.stringContaining(`SQS refused 1 of 2 messages (${oversized.image_id}: InvalidParameterValue`)
        )
      )
      expect(yield* drain("large")).toEqual([fine])
    }))

  it.effect("an unreachable queue is a QueueError, not a defect", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator
      const broken = SqsQueueLive.pipe(
        Layer.provide(Layer.setConfigProvider(emulator.configProvider({
          IMGPIPE_QUEUE_SMALL_URL: `${emulator.endpoint}/000000000000/no-such-queue`,
          IMGPIPE_QUEUE_MEDIUM_URL: `${emulator.endpoint}/000000000000/no-such-queue`,
          IMGPIPE_QUEUE_LARGE_URL: `${emulator.endpoint}/000000000000/no-such-queue`
        })))
      )
      const result = yield* JobQueue.pipe(
        Effect.flatMap((q) => Effect.either(Effect.flatMap(job("small"), (j) => q.send([j])))),
        Effect.provide(broken)
      )
      expect(Either.getLeft(result).pipe(Option.map((e) => e._tag))).toEqual(Option.some("QueueError"))
    }))
  it.effect("each message carries the sender's span as a traceparent attribute; none with the tracer off", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const emulator = yield* Emulator
      const url = emulator.queueUrls[QUEUES.medium] ?? ""
      const traced = yield* job("medium")
      const span = yield* queue.send([traced]).pipe(
        Effect.zipRight(Effect.currentSpan),
        Effect.withSpan("StartProcessing")
      )
      const untraced = yield* job("medium")
      yield* queue.send([untraced]).pipe(Effect.withSpan("not exported"), Effect.withTracerEnabled(false))
      const received = yield* Effect.promise(() =>
        emulator.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"] })
        )
      )
      const byImage = new Map(
        (received.Messages ?? []).map((m) => [(JSON.parse(m.Body ?? "{}") as ProcessJob).image_id, m])
      )
      expect(byImage.get(traced.image_id)?.MessageAttributes?.["traceparent"]).toMatchObject({
        DataType: "String",
        StringValue: expect.stringMatching(new RegExp(`^00-${span.traceId}-[0-9a-f]{16}-01$`))
      })
      expect(byImage.get(untraced.image_id)?.MessageAttributes?.["traceparent"]).toBeUndefined()
    }))
})
