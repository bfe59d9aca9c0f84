/**
 * Webhooks in AWS (packages/infra/webhooks.ts), read back from `sst.config.ts` evaluated against
 * the recording fakes: the queue `webhooks-<stage>` and its DLQ, `DeliverWebhook` subscribed with
 * partial batch responses under a concurrency cap, its environment and least-privilege grants, the
 * `WebhookSecret`, and the dispatchers' right to send to the queue.
 */
import { createHmac } from "node:crypto"
import { beforeAll, describe, expect, it } from "vitest"
import { DELIVER_WEBHOOK, stageSizing } from "../settings.js"
import { arr, at, evaluate, type Evaluation, obj, queries, seconds, str, WITH_DOMAINS } from "./support/evaluate.js"
import { ACCOUNT, type Recorded, REGION } from "./support/sst-fakes.js"

const arn = (queue: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}`
const url = (queue: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${queue}`

describe.each(["test", "prod"])("sst.config.ts, stage %s: webhooks", (stage) => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate(stage, { settings: WITH_DOMAINS })
  })
  const named = (kind: string, name: string) => queries(e).named(kind, name)
  const queueNamed = (name: string): Recorded => {
    const found = queries(e).ofKind("sst.aws.Queue").find((q) => at(q.args, "transform", "queue", "name") === name)
    if (!found) throw new Error(`no queue ${name}`)
    return found
  }
  const fn = () => named("sst.aws.Function", "DeliverWebhook")

  it("has webhooks-<stage> redriving to webhooks-dlq-<stage>, both kept 14 days", () => {
    const queue = queueNamed(`webhooks-${stage}`)
    const dlq = queueNamed(`webhooks-dlq-${stage}`)
    expect(queue.args.dlq).toEqual({ queue: arn(`webhooks-dlq-${stage}`), retry: DELIVER_WEBHOOK.maxReceives })
    expect(dlq.args.dlq).toBeUndefined()
    for (const q of [queue, dlq]) expect(at(q.args, "transform", "queue", "messageRetentionSeconds")).toBe(1_209_600)
    expect(e.outputs).toMatchObject({
      webhookQueueName: `webhooks-${stage}`,
      webhookQueueUrl: url(`webhooks-${stage}`),
      webhookDeadLetterQueueName: `webhooks-dlq-${stage}`,
      webhookDeadLetterQueueUrl: url(`webhooks-dlq-${stage}`),
      deliverWebhookFunction: at(fn().instance, "name", "value")
    })
  })

  it("subscribes DeliverWebhook with partial batch responses, capped, the visibility timeout ≥ 6 × its timeout", () => {
    const subscriptions = queries(e).ofKind("Queue.subscribe").filter((s) => s.name === `webhooks-${stage}`)
    expect(subscriptions).toHaveLength(1)
    const subscription = subscriptions[0]!
    expect(queries(e).functionByArn(subscription.args.subscriber).name).toBe("DeliverWebhook")
    expect(at(subscription.args, "batch", "partialResponses")).toBe(true)
    expect(at(subscription.args, "batch", "size")).toBe(10)
    const cap = Number(at(subscription.args, "transform", "eventSourceMapping", "scalingConfig", "maximumConcurrency"))
    expect(cap).toBe(stageSizing(stage).lambdas.deliverWebhook)
    expect(cap, "AWS's minimum maximumConcurrency is 2").toBeGreaterThanOrEqual(2)
    expect(seconds(queueNamed(`webhooks-${stage}`).args.visibilityTimeout)).toBeGreaterThanOrEqual(
      6 * seconds(fn().args.timeout)
    )
  })

  it("gives DeliverWebhook a timeout above its HTTP timeout, the database, both queues, the secret and the backoff", () => {
    const env = obj(fn().args.environment)
    expect(seconds(fn().args.timeout)).toBeGreaterThan(Number(env.IMGPIPE_WEBHOOK_TIMEOUT_SECONDS))
    expect(env).toMatchObject({
      IMGPIPE_WEBHOOK_QUEUE_URL: url(`webhooks-${stage}`),
      IMGPIPE_WEBHOOK_DLQ_URL: url(`webhooks-dlq-${stage}`),
      IMGPIPE_WEBHOOK_SECRET: "secret-value-of-WebhookSecret",
      IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: "10",
      IMGPIPE_DB_POOL_SIZE: String(DELIVER_WEBHOOK.dbPool)
    })
    expect(str(env.DATABASE_URL)).toMatch(/^postgres:\/\//)
    // Never in AWS: receivers are public https endpoints.
    expect(env.IMGPIPE_WEBHOOK_ALLOW_PRIVATE).toBeUndefined()
    expect(fn().args.vpc, "RDS Proxy is only reachable in the VPC").toBeDefined()
  })

  it("lets DeliverWebhook consume its queue, re-send to it, dead-letter and read the database password, nothing else", () => {
    const permissions = arr(fn().args.permissions).map(obj)
    expect(permissions).toEqual([
      {
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        resources: [arn(`webhooks-${stage}`)]
      },
      { actions: ["sqs:SendMessage"], resources: [arn(`webhooks-${stage}`), arn(`webhooks-dlq-${stage}`)] },
      { actions: ["secretsmanager:GetSecretValue"], resources: [expect.stringContaining(":secret:")] }
    ])
  })

  it("lets every function that makes a status terminal send to the webhook queue, with its URL", () => {
    for (const name of ["ProcessImageSmall", "ProcessImageMedium", "ProcessImageLarge", "Reconcile"]) {
      const sender = named("sst.aws.Function", name)
      expect(obj(sender.args.environment).IMGPIPE_WEBHOOK_QUEUE_URL, name).toBe(url(`webhooks-${stage}`))
      const sends = arr(sender.args.permissions).map(obj).filter((p) => arr(p.actions).includes("sqs:SendMessage"))
      expect(sends.flatMap((p) => arr(p.resources)), name).toContain(arn(`webhooks-${stage}`))
      // Nobody but DeliverWebhook may write to the webhook DLQ.
      expect(sends.flatMap((p) => arr(p.resources)), name).not.toContain(arn(`webhooks-dlq-${stage}`))
    }
    // StartProcessing never makes a status terminal: no webhooks to send.
    const start = named("sst.aws.Function", "StartProcessing")
    expect(obj(start.args.environment).IMGPIPE_WEBHOOK_QUEUE_URL).toBeUndefined()
    expect(arr(start.args.permissions).flatMap((p) => arr(obj(p).resources))).not.toContain(arn(`webhooks-${stage}`))
  })

  it("hands the webhook secret to the API as an SSM SecureString (a callback_url needs it)", () => {
    const api = named("sst.aws.Service", "Api")
    const parameterArn = obj(api.args.ssm).IMGPIPE_WEBHOOK_SECRET
    const parameter = queries(e).ofKind("aws.ssm.Parameter").find((p) =>
      at(p.instance, "arn", "value") === parameterArn
    )
    expect(parameter?.args).toMatchObject({ type: "SecureString", value: "secret-value-of-WebhookSecret" })
    expect(obj(api.args.environment).IMGPIPE_WEBHOOK_SECRET).toBeUndefined()
  })
})

describe("the WebhookSecret when nobody set it", () => {
  it("fails a prod deploy", async () => {
    await expect(evaluate("prod", { settings: WITH_DOMAINS, secrets: { ApiKeys: "k" } })).rejects.toThrow(
      /SecretMissingError.*WebhookSecret/
    )
  })

  it("gives another stage a stable secret nobody knows, derived from the database password", async () => {
    const e = await evaluate("dev-someone", { secrets: {} })
    const secret = str(
      obj(e.recorder.named("sst.aws.Function", "DeliverWebhook").args.environment).IMGPIPE_WEBHOOK_SECRET
    )
    expect(secret).toBe(createHmac("sha256", "generated-password").update("WebhookSecret fallback").digest("hex"))
    expect(secret).not.toBe(str(e.recorder.named("sst.Secret", "ApiKeys").args.placeholder))
  })
})

describe("a stage-wide receiver (settings.ts WEBHOOK_URLS)", () => {
  it("reaches the API only, which stores it on each upload without a callback_url", async () => {
    const receiver = "https://hooks.example.com/imgpipe"
    const e = await evaluate("test", { settings: { WEBHOOK_URLS: { test: receiver } } })
    expect(obj(e.recorder.named("sst.aws.Service", "Api").args.environment).IMGPIPE_WEBHOOK_URL).toBe(receiver)
    for (const fn of e.recorder.ofKind("sst.aws.Function")) {
      expect(obj(fn.args.environment).IMGPIPE_WEBHOOK_URL, fn.name).toBeUndefined()
    }
    const none = await evaluate("test")
    expect(obj(none.recorder.named("sst.aws.Service", "Api").args.environment).IMGPIPE_WEBHOOK_URL).toBeUndefined()
  })
})
