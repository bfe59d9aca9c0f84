/**
 * `QueueAdmin` on SQS: the size queues' counts from `GetQueueAttributes`, the dead-letter queue
 * found through their redrive policy (so it can never disagree with where SQS really moves the
 * messages, and needs no setting of its own), and the redrive as SQS's own `StartMessageMoveTask`
 * from the dead-letter queue back to each message's source queue.
 *
 * Oldest age: SQS has no such attribute, only CloudWatch's per-minute `ApproximateAgeOfOldestMessage`
 * (on the stage's dashboard and alarms); the statistics report `null` rather than add a CloudWatch
 * client, its permissions and a minute-old number to every call (docs/operations.md).
 */
import { SQSService } from "@effect-aws/client-sqs"
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { QueueError } from "../domain/errors.js"
import { IMAGE_SIZES, type ImageSize } from "../domain/sizes.js"
import { QueueAdmin, type QueueStats, type RedriveResult } from "../services/QueueAdmin.js"
import { describeAwsError } from "./config.js"
import { SqsClientLive, type SqsQueueConfig, sqsQueueConfig } from "./SqsQueue.js"

const RedrivePolicy = Schema.parseJson(Schema.Struct({ deadLetterTargetArn: Schema.String }))
const decodeRedrivePolicy = Schema.decodeUnknownOption(RedrivePolicy)

/** `arn:aws:sqs:<region>:<account>:<name>` → the name and the owning account. */
const parseQueueArn = (arn: string): Option.Option<{ readonly name: string; readonly account: string }> => {
  const parts = arn.split(":")
  const name = parts[5]
  const account = parts[4]
  return parts.length === 6 && parts[2] === "sqs" && name !== undefined && account !== undefined && name.length > 0
    ? Option.some({ name, account })
    : Option.none()
}

const count = (value: string | undefined): number => {
  const n = Number(value ?? "0")
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}

export const makeSqsQueueAdmin = (sqs: SQSService.Type, config: SqsQueueConfig): QueueAdmin["Type"] => {
  const fail = (operation: string) => (error: Parameters<typeof describeAwsError>[0]) =>
    new QueueError({ operation, message: describeAwsError(error) })

  const attributesOf = (operation: string, url: string) =>
    sqs.getQueueAttributes({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "RedrivePolicy"]
    }).pipe(
      Effect.map((out) => out.Attributes ?? {}),
      Effect.mapError(fail(operation))
    )

  const sizeQueues = Effect.forEach(
    IMAGE_SIZES,
    (size: ImageSize) =>
      Effect.map(
        attributesOf(`read the ${size} queue`, config.queueUrls[size]),
        (attributes) => ({ size, attributes })
      ),
    { concurrency: "unbounded" }
  )

  /** The dead-letter queues the size queues name (normally the one of the stage). */
  const deadLetterArns = (queues: ReadonlyArray<{ readonly attributes: Record<string, string> }>) =>
    Arr.dedupe(
      Arr.filterMap(queues, ({ attributes }) =>
        Option.map(decodeRedrivePolicy(attributes["RedrivePolicy"] ?? ""), (policy) =>
          policy.deadLetterTargetArn))
    )

  const deadLetterQueue = (arn: string) =>
    Effect.gen(function* () {
      const target = yield* Option.match(parseQueueArn(arn), {
        onNone: () =>
          Effect.fail(new QueueError({ operation: "find the dead-letter queue", message: `not a queue ARN: ${arn}` })),
        onSome: Effect.succeed
      })
      const { QueueUrl } = yield* sqs.getQueueUrl({ QueueName: target.name, QueueOwnerAWSAccountId: target.account })
        .pipe(Effect.mapError(fail("find the dead-letter queue")))
      if (QueueUrl === undefined) {
        return yield* new QueueError({ operation: "find the dead-letter queue", message: `no URL for ${arn}` })
      }
      const attributes = yield* attributesOf("read the dead-letter queue", QueueUrl)
      return { arn, name: target.name, attributes }
    })

  /** `dead_letter` for the stage's one dead-letter queue; named by queue when there are several. */
  const deadLetterName = (all: ReadonlyArray<string>, name: string) => all.length === 1 ? "dead_letter" : name

  const stats = Effect.gen(function* () {
    const queues = yield* sizeQueues
    const arns = deadLetterArns(queues)
    const dead = yield* Effect.forEach(arns, deadLetterQueue, { concurrency: "unbounded" })
    const stat = (name: string, deadLetter: boolean, attributes: Record<string, string>): QueueStats => ({
      name,
      deadLetter,
      depth: count(attributes["ApproximateNumberOfMessages"]),
      inFlight: count(attributes["ApproximateNumberOfMessagesNotVisible"]),
      oldestAgeSeconds: null
    })
    return [
      ...queues.map(({ attributes, size }) => stat(size, false, attributes)),
      ...dead.map((queue) => stat(deadLetterName(arns, queue.name), true, queue.attributes))
    ]
  }).pipe(Effect.withSpan("QueueAdmin.stats"))

  const redrive = Effect.gen(function* () {
    const arns = deadLetterArns(yield* sizeQueues)
    return yield* Effect.forEach(arns, (arn) =>
      Effect.gen(function* () {
        const queue = yield* deadLetterQueue(arn)
        const messages = count(queue.attributes["ApproximateNumberOfMessages"])
        const name = deadLetterName(arns, queue.name)
        if (messages === 0) return { queue: name, messages: 0, taskHandle: null } satisfies RedriveResult
        // No DestinationArn: each message goes back to the queue it was dead-lettered from.
        const task = yield* sqs.startMessageMoveTask({ SourceArn: arn }).pipe(
          Effect.mapError(fail("start the dead-letter redrive"))
        )
        return { queue: name, messages, taskHandle: task.TaskHandle ?? null } satisfies RedriveResult
      }))
  }).pipe(Effect.withSpan("QueueAdmin.redrive"))

  return { stats, redrive }
}

/** `QueueAdmin` on `SQSService`, the size queues' URLs from the environment (as `SqsQueue`). */
export const SqsQueueAdminFromClient: Layer.Layer<QueueAdmin, ConfigError, SQSService> = Layer.effect(
  QueueAdmin,
  Effect.gen(function* () {
    const client = yield* SQSService
    const config = yield* sqsQueueConfig
    return makeSqsQueueAdmin(client, config)
  })
)

/** `QueueAdmin` on SQS with its own client. */
export const SqsQueueAdminLive: Layer.Layer<QueueAdmin, ConfigError> = SqsQueueAdminFromClient.pipe(
  Layer.provide(SqsClientLive)
)
