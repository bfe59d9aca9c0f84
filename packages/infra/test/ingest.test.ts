/**
 * The ingest path, per stage: the raw bucket's ObjectCreated notifications go to the SQS queue
 * `image-uploaded-<stage>` (14 days, its own dead-letter queue after 5 receives), which only that
 * bucket of this account may send to, and StartProcessing consumes it in batches with partial
 * batch responses, capped by the mapping inside the connection budget.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { connectionBudget, stageSizing, START_PROCESSING } from "../settings.js"
import { arr, at, evaluate, type Evaluation, obj, queries, seconds, str, WITH_DOMAINS } from "./support/evaluate.js"
import { ACCOUNT, type Recorded, REGION } from "./support/sst-fakes.js"

const FOURTEEN_DAYS = 14 * 24 * 3600

describe.each(["test", "prod"])("sst.config.ts, stage %s: the ingest queue", (stage) => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate(stage, { settings: WITH_DOMAINS })
  })
  const ofKind = (kind: string) => queries(e).ofKind(kind)
  const named = (kind: string, name: string) => queries(e).named(kind, name)
  const queueNamed = (physical: string): Recorded => {
    const found = ofKind("sst.aws.Queue").find((q) => at(q.args, "transform", "queue", "name") === physical)
    if (!found) throw new Error(`no queue named ${physical}`)
    return found
  }
  const ingestName = `image-uploaded-${stage}`

  it("is image-uploaded-<stage>, kept 14 days, dead-lettering to image-uploaded-dlq-<stage> after 5 receives", () => {
    const ingest = queueNamed(ingestName)
    const dlq = queueNamed(`image-uploaded-dlq-${stage}`)
    expect(ingest.args.dlq).toEqual({ queue: at(dlq.instance, "arn", "value"), retry: 5 })
    expect(dlq.args.dlq).toBeUndefined()
    for (const queue of [ingest, dlq]) {
      expect(at(queue.args, "transform", "queue", "messageRetentionSeconds"), queue.name).toBe(FOURTEEN_DAYS)
    }
    // Not the size queues' dead-letter queue: a dead upload is redriven to the ingest queue.
    expect(at(dlq.instance, "arn", "value")).not.toBe(
      at(queueNamed(`process-image-dlq-${stage}`).instance, "arn", "value")
    )
    expect(e.outputs.ingestQueueName).toBe(ingestName)
    expect(e.outputs.ingestQueueUrl).toBe(`https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${ingestName}`)
    expect(e.outputs.ingestDeadLetterQueueUrl).toBe(
      `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/image-uploaded-dlq-${stage}`
    )
  })

  it("receives the raw bucket's ObjectCreated:* notifications, and nothing else notifies", () => {
    // SST's `raw.notify` would add a queue policy with no source condition: not used.
    expect(ofKind("Bucket.notify")).toEqual([])
    const notifications = ofKind("aws.s3.BucketNotification")
    expect(notifications).toHaveLength(1)
    const notification = notifications[0]!
    expect(notification.args.bucket).toBe(e.outputs.rawBucket)
    expect(notification.args.lambdaFunctions ?? []).toEqual([])
    expect(notification.args.topics ?? []).toEqual([])
    const targets = arr(notification.args.queues).map(obj)
    expect(targets).toHaveLength(1)
    expect(targets[0]?.queueArn).toBe(`arn:aws:sqs:${REGION}:${ACCOUNT}:${ingestName}`)
    expect(targets[0]?.events).toEqual(["s3:ObjectCreated:*"])
    expect(targets[0]?.filterPrefix).toBeUndefined()
    // S3 checks it may send when the configuration is saved: the policy must exist first.
    const policy = named("aws.sqs.QueuePolicy", "ImageUploadedPolicy")
    expect(arr(notification.opts.dependsOn)).toContain(policy.instance)
  })

  it("lets S3 send to it from the raw bucket of this account only", () => {
    const policies = ofKind("aws.sqs.QueuePolicy")
    expect(policies).toHaveLength(1)
    const policy = policies[0]!
    expect(policy.args.queueUrl).toBe(e.outputs.ingestQueueUrl)
    const document = obj(JSON.parse(str(policy.args.policy)))
    const statements = arr(document.Statement).map(obj)
    expect(statements).toHaveLength(1)
    expect(statements[0]).toEqual({
      Sid: "RawBucketNotifications",
      Effect: "Allow",
      Principal: { Service: "s3.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${ingestName}`,
      Condition: {
        ArnEquals: { "aws:SourceArn": `arn:aws:s3:::${String(e.outputs.rawBucket)}` },
        StringEquals: { "aws:SourceAccount": ACCOUNT }
      }
    })
  })

  it("is consumed by StartProcessing in batches of 10 within 1 s, partial responses on, capped by the mapping", () => {
    const subscriptions = ofKind("Queue.subscribe").filter((s) => s.name === ingestName)
    expect(subscriptions).toHaveLength(1)
    const subscription = subscriptions[0]!
    const fn = queries(e).functionByArn(subscription.args.subscriber)
    expect(fn.name).toBe("StartProcessing")
    expect(fn.args.handler).toBe("packages/functions/src/start-processing.handler")
    expect(at(subscription.args, "batch")).toEqual({ size: 10, window: "1 seconds", partialResponses: true })
    expect(START_PROCESSING.batchSize).toBe(10)
    const cap = Number(at(subscription.args, "transform", "eventSourceMapping", "scalingConfig", "maximumConcurrency"))
    expect(cap).toBe(stageSizing(stage).lambdas.startProcessing)
    expect(cap, "AWS's minimum maximumConcurrency is 2").toBeGreaterThanOrEqual(2)
    // AWS: the queue's visibility timeout ≥ 6 × the function's timeout + the batch window.
    const visibility = seconds(queueNamed(ingestName).args.visibilityTimeout)
    expect(visibility).toBeGreaterThanOrEqual(
      6 * seconds(fn.args.timeout) + seconds(at(subscription.args, "batch", "window"))
    )
  })

  it("gives StartProcessing the size queues and the database, and consumer rights on the ingest queue only", () => {
    const fn = named("sst.aws.Function", "StartProcessing")
    const env = obj(fn.args.environment)
    for (const size of ["small", "medium", "large"]) {
      expect(env[`IMGPIPE_QUEUE_${size.toUpperCase()}_URL`]).toBe(e.outputs[`${size}QueueUrl`])
    }
    expect(env.DATABASE_URL).toBeTypeOf("string")
    expect(env.IMGPIPE_DB_POOL_SIZE).toBe("2")
    // StartProcessing never reads the ingest queue itself: the mapping hands it the messages.
    expect(Object.values(env)).not.toContain(e.outputs.ingestQueueUrl)
    const permissions = arr(fn.args.permissions).map(obj)
    const onIngest = permissions.filter((p) =>
      arr(p.resources).includes(`arn:aws:sqs:${REGION}:${ACCOUNT}:${ingestName}`)
    )
    expect(onIngest).toHaveLength(1)
    expect(arr(onIngest[0]?.actions).map(str).sort()).toEqual(
      ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"].sort()
    )
    const sends = permissions.filter((p) => arr(p.actions).includes("sqs:SendMessage"))
    // The size queues only (it never makes a status terminal, so it dispatches no webhooks).
    expect(sends.flatMap((p) => arr(p.resources)).sort()).toEqual(
      ["small", "medium", "large"].map((size) => `arn:aws:sqs:${REGION}:${ACCOUNT}:process-${size}-image-${stage}`)
        .sort()
    )
  })

  it("leaves StartProcessing no reserved concurrency and no async retries; the budget still holds", () => {
    const fn = named("sst.aws.Function", "StartProcessing")
    // A reserved concurrency under the mapping's cap would throttle, and each throttle counts a receive.
    expect(fn.args.concurrency).toBeUndefined()
    // `retries` applies to asynchronous invocations only; SQS redelivers instead.
    expect(fn.args.retries).toBeUndefined()
    expect(seconds(fn.args.timeout)).toBe(START_PROCESSING.timeoutSeconds)
    const budget = connectionBudget(stage)
    expect(budget.demand, `${budget.demand} connections at most; ${budget.allowed} allowed`).toBeLessThanOrEqual(
      budget.allowed
    )
  })
})
