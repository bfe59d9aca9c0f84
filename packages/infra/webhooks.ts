/**
 * Webhooks in AWS (issue 12, SYSTEM.md "Integration"): the queue `webhooks-<stage>` with its own
 * dead-letter queue `webhooks-dlq-<stage>`, and the `DeliverWebhook` function subscribed to it.
 *
 * How a delivery is retried (core usecases/deliverWebhook.ts, packages/functions/src/deliver-webhook.ts):
 * each message names one delivery row (`{ "event_id" }`); the handler runs `deliverWebhook` for it.
 * A failed attempt is recorded on the row and the next attempt is sent back to this queue as a new
 * message with `DelaySeconds` = the backoff (SQS allows 900 s at most: a longer backoff takes
 * several hops, each a claim that finds the row not due yet and sends it on), and the received
 * message is acknowledged. The row, not the message, is the truth: a duplicate or early message
 * finds the row leased, delivered or not due, and does nothing. Once the use case gives up (24 h
 * after the event) the handler sends the message to the DLQ itself and acknowledges it, so the DLQ
 * holds exactly the deliveries that exhausted their 24 h. The redrive policy's maxReceiveCount
 * (settings.ts DELIVER_WEBHOOK.maxReceives) is only a safety net: a message whose handling fails
 * every time (database down, a crash) is left for the visibility timeout, then dead-lettered.
 *
 * Who sends to the queue: what makes a status terminal and dispatches its deliveries
 * (ProcessImage: ready, or failed for good; Reconcile: expired or stalled twice, and the deliveries
 * a crash or a failed send left undispatched). They get `sqs:SendMessage` on the queue and its URL
 * (functions.ts, reconcile.ts, through environment.ts `webhookSenderEnvironment`).
 */
import { createHmac } from "node:crypto"
import { databaseEnvironment, databaseSecretPermission, tracingEnvironment } from "./environment"
import {
  DELIVER_WEBHOOK,
  isProd,
  QUEUE_RETENTION_SECONDS,
  stageSizing,
  WEBHOOK_VISIBILITY_SECONDS,
  webhookDeadLetterQueueName,
  webhookQueueName
} from "./settings"

/** Handler path, `<file without extension>.<export>` (the topology test checks both exist). */
export const DELIVER_WEBHOOK_HANDLER = "packages/functions/src/deliver-webhook.handler"

/** What an SQS event source mapping does with the function's role (as functions.ts). */
const SQS_CONSUMER_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes"
]

export interface WebhooksInput {
  readonly vpc: sst.aws.Vpc
  readonly databaseUrl: $util.Input<string>
  readonly databaseSecretArn: $util.Input<string>
  /** A value nobody outside the account knows, for a stage other than prod's fallback secret (as api.ts). */
  readonly fallbackKeySeed: $util.Input<string>
  /** The migration step: the handler needs `webhook_deliveries`. */
  readonly migration: $util.Resource
}

/** The webhook queue and its dead-letter queue (created before the functions that send to it). */
export function webhookQueues() {
  const stage = $app.stage
  const deadLetter = new sst.aws.Queue("WebhooksDeadLetter", {
    transform: {
      queue: { name: webhookDeadLetterQueueName(stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
    }
  })
  const queue = new sst.aws.Queue("Webhooks", {
    visibilityTimeout: `${WEBHOOK_VISIBILITY_SECONDS} seconds`,
    dlq: { queue: deadLetter.arn, retry: DELIVER_WEBHOOK.maxReceives },
    transform: {
      queue: { name: webhookQueueName(stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
    }
  })
  return { queue, deadLetter }
}

export function webhooks(input: WebhooksInput, queues: ReturnType<typeof webhookQueues>) {
  const { queue, deadLetter } = queues
  const { lambdas } = stageSizing($app.stage)

  // `IMGPIPE_WEBHOOK_SECRET`: `sst secret set WebhookSecret "<random>" --stage <stage>`; receivers
  // verify `Imgpipe-Signature` with it. prod has no fallback (it fails to deploy until set); other
  // stages fall back to a stable value nobody knows (as ApiKeys in api.ts), so a personal stage
  // deploys, but its receivers cannot verify anything until someone sets the secret.
  const fallback = isProd($app.stage)
    ? undefined
    : $resolve([input.fallbackKeySeed]).apply(([seed]) =>
      createHmac("sha256", seed).update("WebhookSecret fallback").digest("hex")
    )
  const secret = new sst.Secret("WebhookSecret", fallback)

  const fn = new sst.aws.Function(
    "DeliverWebhook",
    {
      handler: DELIVER_WEBHOOK_HANDLER,
      runtime: "nodejs22.x",
      architecture: "x86_64",
      // RDS Proxy is reachable only inside the VPC; the receivers are reached through its NAT.
      vpc: input.vpc,
      // No `nodejs.install` of sharp: its layers (packages/functions/src/webhook-layers.ts) stay
      // clear of layers.ts, so the bundle never reaches `import "sharp"` (the bundle test checks).
      environment: {
        ...databaseEnvironment(input),
        IMGPIPE_WEBHOOK_QUEUE_URL: queue.url,
        IMGPIPE_WEBHOOK_DLQ_URL: deadLetter.url,
        IMGPIPE_WEBHOOK_SECRET: secret.value,
        IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS: String(DELIVER_WEBHOOK.retryBaseSeconds),
        IMGPIPE_WEBHOOK_TIMEOUT_SECONDS: String(DELIVER_WEBHOOK.httpTimeoutSeconds),
        IMGPIPE_DB_POOL_SIZE: String(DELIVER_WEBHOOK.dbPool),
        ...tracingEnvironment()
      },
      description: "Webhooks: webhooks queue → signed POST to the receiver; retried with backoff, DLQ after 24 h",
      memory: DELIVER_WEBHOOK.memory,
      timeout: `${DELIVER_WEBHOOK.timeoutSeconds} seconds`,
      permissions: [
        // What the event source mapping does on the function's behalf.
        { actions: SQS_CONSUMER_ACTIONS, resources: [queue.arn] },
        // The next attempt goes back to the queue with its backoff as the delay; a delivery that
        // gave up after 24 h goes to the DLQ (the handler sends it there itself).
        { actions: ["sqs:SendMessage"], resources: [queue.arn, deadLetter.arn] },
        databaseSecretPermission(input.databaseSecretArn)
      ]
    },
    { dependsOn: [input.migration] }
  )

  queue.subscribe(fn.arn, {
    batch: {
      size: DELIVER_WEBHOOK.batchSize,
      // The handler answers `{ batchItemFailures }`: only the deliveries to retry come back.
      partialResponses: true
    },
    transform: {
      // Its share of the connection budget (settings.ts): the queue holds the rest, nothing is throttled.
      eventSourceMapping: { scalingConfig: { maximumConcurrency: lambdas.deliverWebhook } }
    }
  })

  return { deliverWebhook: fn, secret }
}
