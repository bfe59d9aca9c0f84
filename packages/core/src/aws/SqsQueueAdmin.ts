/**
 * `QueueAdmin` on SQS: the size queues' (and, when configured, the webhook queue's) counts from
 * `GetQueueAttributes`, each dead-letter queue found through the redrive policy of the queues that
 * feed it (so it can never disagree with where SQS really moves the messages, and needs no setting
 * of its own), and the redrive as SQS's own `StartMessageMoveTask`
 * from the dead-letter queue back to each message's source queue.
 *
 * Oldest age: SQS has no such attribute, only CloudWatch's per-minute `ApproximateAgeOfOldestMessage`
 * (on the stage's dashboard and alarms); the statistics report `null` rather than add a CloudWatch
 * client, its permissions and a minute-old number to every call (docs/operations.md).
 */
import { SQSService } from "@effect-aws/client-sqs"
import { Config, Effect, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { QueueError } from "../domain/errors.js"
import { IMAGE_SIZES, type ImageSize } from "../domain/sizes.js"
import { QueueAdmin, type QueueStats, type RedriveResult } from "../services/QueueAdmin.js"
import { describeAwsError } from "./config.js"
import { SqsClientLive, type SqsQueueConfig, sqsQueueConfig } from "./SqsQueue.js"
import { webhookQueueUrlConfig } from "./SqsWebhookQueue.js"

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

/** The queues the statistics cover: the size queues, and the webhook queue where the runtime has it. */
export interface SqsQueueAdminConfig extends SqsQueueConfig {
  readonly webhookQueueUrl: Option.Option<string>
}

interface DeadLetterTarget {
  readonly arn: string
  readonly name: string
}

/** A source queue: its name in the statistics, and the name of the dead-letter queue it names. */
interface Source {
  readonly name: string
  readonly url: string
  readonly deadLetterName: string
}

export const makeSqsQueueAdmin = (sqs: SQSService.Type, config: SqsQueueAdminConfig): QueueAdmin["Type"] => {
  const fail = (operation: string) => (error: Parameters<typeof describeAwsError>[0]) =>
    new QueueError({ operation, message: describeAwsError(error) })

  const sources: ReadonlyArray<Source> = [
    ...IMAGE_SIZES.map((size: ImageSize): Source => ({
      name: size,
      url: config.queueUrls[size],
      deadLetterName: "dead_letter"
    })),
    ...Option.toArray(config.webhookQueueUrl).map((url): Source => ({
      name: "webhooks",
      url,
      deadLetterName: "webhooks_dead_letter"
    }))
  ]

  const attributesOf = (operation: string, url: string) =>
    sqs.getQueueAttributes({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "RedrivePolicy"]
    }).pipe(
      Effect.map((out) => out.Attributes ?? {}),
      Effect.mapError(fail(operation))
    )

  const readSources = Effect.forEach(
    sources,
    (source) =>
      Effect.map(attributesOf(`read the ${source.name} queue`, source.url), (attributes) => ({ source, attributes })),
    { concurrency: "unbounded" }
  )

  /** The dead-letter queues the sources name (normally one for the sizes, one for the webhooks), each once. */
  const deadLetterTargets = (
    queues: ReadonlyArray<{ readonly source: Source; readonly attributes: Record<string, string> }>
  ): ReadonlyArray<DeadLetterTarget> => {
    const byArn = new Map<string, DeadLetterTarget>()
    for (const { attributes, source } of queues) {
      const policy = decodeRedrivePolicy(attributes["RedrivePolicy"] ?? "")
      if (Option.isSome(policy) && !byArn.has(policy.value.deadLetterTargetArn)) {
        const arn = policy.value.deadLetterTargetArn
        byArn.set(arn, { arn, name: source.deadLetterName })
      }
    }
    return [...byArn.values()]
  }

  const deadLetterQueue = (target: { readonly arn: string; readonly name: string }) =>
    Effect.gen(function* () {
      const parsed = yield* Option.match(parseQueueArn(target.arn), {
        onNone: () =>
          Effect.fail(
            new QueueError({ operation: "find the dead-letter queue", message: `not a queue ARN: ${target.arn}` })
          ),
        onSome: Effect.succeed
      })
      const { QueueUrl } = yield* sqs.getQueueUrl({ QueueName: parsed.name, QueueOwnerAWSAccountId: parsed.account })
        .pipe(Effect.mapError(fail("find the dead-letter queue")))
      if (QueueUrl === undefined) {
        return yield* new QueueError({ operation: "find the dead-letter queue", message: `no URL for ${target.arn}` })
      }
      const attributes = yield* attributesOf(`read the ${target.name} queue`, QueueUrl)
      return { ...target, attributes }
    })

  const stat = (name: string, deadLetter: boolean, attributes: Record<string, string>): QueueStats => ({
    name,
    deadLetter,
    depth: count(attributes["ApproximateNumberOfMessages"]),
    inFlight: count(attributes["ApproximateNumberOfMessagesNotVisible"]),
    oldestAgeSeconds: null
  })

  const stats = Effect.gen(function* () {
    const queues = yield* readSources
    const dead = yield* Effect.forEach(deadLetterTargets(queues), deadLetterQueue, { concurrency: "unbounded" })
    return [
      ...queues.map(({ attributes, source }) => stat(source.name, false, attributes)),
      ...dead.map((queue) => stat(queue.name, true, queue.attributes))
    ]
  }).pipe(Effect.withSpan("QueueAdmin.stats"))

  const redrive = Effect.gen(function* () {
    const targets = deadLetterTargets(yield* readSources)
    return yield* Effect.forEach(targets, (target) =>
      Effect.gen(function* () {
        const queue = yield* deadLetterQueue(target)
        const messages = count(queue.attributes["ApproximateNumberOfMessages"])
        if (messages === 0) return { queue: target.name, messages: 0, taskHandle: null } satisfies RedriveResult
        // No DestinationArn: each message goes back to the queue it was dead-lettered from.
        const task = yield* sqs.startMessageMoveTask({ SourceArn: target.arn }).pipe(
          Effect.mapError(fail(`start the ${target.name} redrive`))
        )
        return { queue: target.name, messages, taskHandle: task.TaskHandle ?? null } satisfies RedriveResult
      }))
  }).pipe(Effect.withSpan("QueueAdmin.redrive"))

  return { stats, redrive }
}

/**
 * The size queues' URLs (as `SqsQueue`) and, when set, `IMGPIPE_WEBHOOK_QUEUE_URL` (the webhook queue,
 * whose own dead-letter queue its redrive policy names).
 */
export const sqsQueueAdminConfig: Config.Config<SqsQueueAdminConfig> = Config.all({
  queueUrls: sqsQueueConfig.pipe(Config.map((config) => config.queueUrls)),
  client: sqsQueueConfig.pipe(Config.map((config) => config.client)),
  webhookQueueUrl: Config.option(webhookQueueUrlConfig)
})

/** `QueueAdmin` on `SQSService`, the queues' URLs from the environment (`sqsQueueAdminConfig`). */
export const SqsQueueAdminFromClient: Layer.Layer<QueueAdmin, ConfigError, SQSService> = Layer.effect(
  QueueAdmin,
  Effect.gen(function* () {
    const client = yield* SQSService
    const config = yield* sqsQueueAdminConfig
    return makeSqsQueueAdmin(client, config)
  })
)

/** `QueueAdmin` on SQS with its own client. */
export const SqsQueueAdminLive: Layer.Layer<QueueAdmin, ConfigError> = SqsQueueAdminFromClient.pipe(
  Layer.provide(SqsClientLive)
)
