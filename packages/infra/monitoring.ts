/**
 * What a platform team expects to be paged for, and one dashboard of the pipeline's flow
 * (docs/deploy.md#alarms-and-dashboard). Every alarm notifies the SNS topic `Alarms`, on the way in
 * and on the way out; subscribe to it once per stage.
 */
import { pipelineDashboard } from "./dashboard"
import {
  ALARMS,
  connectionBudget,
  deadLetterQueueName,
  ingestDeadLetterQueueName,
  ingestQueueName,
  queueName,
  rdsMaxConnections,
  type Size,
  SIZE_TITLE,
  SIZES,
  stageSizing,
  webhookDeadLetterQueueName
} from "./settings"

export interface MonitoringInput {
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  readonly deadLetter: sst.aws.Queue
  /** The raw bucket's notifications and their dead-letter queue. */
  readonly ingest: sst.aws.Queue
  readonly ingestDeadLetter: sst.aws.Queue
  readonly startProcessing: sst.aws.Function
  readonly processImage: Readonly<Record<Size, sst.aws.Function>>
  /** The scheduled reconciler: while it fails, stalled images are no longer healed. */
  readonly reconcile: sst.aws.Function
  /** Webhook deliveries (webhooks.ts), the ones that gave up after 24 h, and their deliverer. */
  readonly webhooks: sst.aws.Queue
  readonly webhooksDeadLetter: sst.aws.Queue
  readonly deliverWebhook: sst.aws.Function
  readonly postgres: sst.aws.Postgres
  readonly service: sst.aws.Service
}

/** What one alarm watches: a metric, or `metricQueries` for a computed one. */
type Watched = Pick<
  aws.cloudwatch.MetricAlarmArgs,
  "namespace" | "metricName" | "dimensions" | "statistic" | "extendedStatistic" | "period" | "metricQueries"
>

interface AlarmSpec {
  /** The physical name (unique per account and region, so it names the stage). */
  readonly name: string
  readonly description: string
  readonly threshold: number
  readonly below?: boolean
  /** Consecutive periods that must all breach (default 1). */
  readonly periods?: number
  /** Default: a metric that stops (idle queue, no traffic) is not an incident. */
  readonly missing?: "notBreaching" | "breaching" | "missing"
}

export function monitoring(input: MonitoringInput) {
  const stage = $app.stage
  const sizing = stageSizing(stage)
  const topic = new sst.aws.SnsTopic("Alarms")
  // OK actions too: whoever was paged learns when it is over.
  const notify = [topic.arn]
  const named = (what: string) => `${$app.name}-${stage}-${what}`

  /** The props every alarm shares, in one place. */
  const alarm = (logicalName: string, spec: AlarmSpec, watched: Watched) =>
    new aws.cloudwatch.MetricAlarm(logicalName, {
      name: spec.name,
      alarmDescription: spec.description,
      ...watched,
      period: watched.metricQueries === undefined ? (watched.period ?? 60) : undefined,
      evaluationPeriods: spec.periods ?? 1,
      datapointsToAlarm: spec.periods ?? 1,
      threshold: spec.threshold,
      comparisonOperator: spec.below ? "LessThanThreshold" : "GreaterThanThreshold",
      treatMissingData: spec.missing ?? "notBreaching",
      alarmActions: notify,
      okActions: notify
    })

  const deadLetterDepth = alarm(
    "DeadLetterNotEmpty",
    {
      name: `${deadLetterQueueName(stage)}-not-empty`,
      description: "A resize job was received 5 times without success and was dead-lettered. Its image is `failed` " +
        "(processing_failed) and still serves its other sizes. Fix the cause, then redrive the DLQ (docs/deploy.md).",
      threshold: 0
    },
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input.deadLetter.nodes.queue.name },
      statistic: "Maximum"
    }
  )

  const bySize = <T>(make: (size: Size) => T): Record<Size, T> => ({
    small: make("small"),
    medium: make("medium"),
    large: make("large")
  })

  const oldestMessage = bySize((size) =>
    alarm(
      `OldestMessage${SIZE_TITLE[size]}`,
      {
        name: `${queueName(size, stage)}-oldest-message-age`,
        description:
          `Jobs wait more than ${ALARMS.oldestMessageSeconds} s in ${
            queueName(size, stage)
          }: ProcessImage is failing, ` +
          "throttled, or at its concurrency cap (settings.ts). Images stay on a fallback size meanwhile.",
        threshold: ALARMS.oldestMessageSeconds,
        // Three minutes in a row: one slow batch is not an incident, a trend is.
        periods: 3
      },
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: input.queues[size].nodes.queue.name },
        statistic: "Maximum"
      }
    )
  )

  // The ingest queue replaces S3's asynchronous invocation, and with it the `AsyncEventsDropped`
  // alarm (SQS-invoked functions have no asynchronous events to drop): an upload now waits on the
  // queue (14 days) or in its dead-letter queue, and these two say so.
  const ingestOldestMessage = alarm(
    "IngestOldestMessage",
    {
      name: `${ingestQueueName(stage)}-oldest-message-age`,
      description:
        `Uploads wait more than ${ALARMS.ingestOldestMessageSeconds} s in ${ingestQueueName(stage)} to be started: ` +
        "StartProcessing is failing (database or SQS), throttled, or at its concurrency cap (settings.ts). " +
        "The images stay `awaiting_upload` meanwhile; nothing is lost for 14 days.",
      threshold: ALARMS.ingestOldestMessageSeconds,
      periods: 3
    },
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: input.ingest.nodes.queue.name },
      statistic: "Maximum"
    }
  )

  const ingestDeadLetterDepth = alarm(
    "IngestDeadLetterNotEmpty",
    {
      name: `${ingestDeadLetterQueueName(stage)}-not-empty`,
      description:
        "An upload's notification was received 5 times without StartProcessing starting it and was dead-lettered: " +
        "its image stays `awaiting_upload`. Fix the cause, then redrive the ingest DLQ to the ingest queue (docs/deploy.md).",
      threshold: 0
    },
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input.ingestDeadLetter.nodes.queue.name },
      statistic: "Maximum"
    }
  )

  // The webhook DLQ holds exactly the deliveries that were retried for 24 h without a 2xx (the
  // handler moves them there; webhooks.ts). No age alarm on the webhook queue itself: a delivery
  // waiting out its backoff for a receiver that is down is old by design, for up to a day.
  const webhookDeadLetterDepth = alarm(
    "WebhooksDeadLetterNotEmpty",
    {
      name: `${webhookDeadLetterQueueName(stage)}-not-empty`,
      description:
        "A webhook delivery got no 2xx answer for 24 hours of retries and was dead-lettered (its image's status " +
        "JSON shows webhook.last_error). Check the receiver, then redrive the webhook DLQ to the webhook queue " +
        "(docs/deploy.md).",
      threshold: 0
    },
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: input.webhooksDeadLetter.nodes.queue.name },
      statistic: "Maximum"
    }
  )

  // Errors and throttles, per function. ProcessImage answers per-message failures in the batch
  // response, so an invocation error is a crash (out of memory, timeout, bad deploy).
  // Errors: more than a few a period for the busy functions; Reconcile runs once per 5 minutes, so
  // a failed run in two periods in a row is the signal (stalled images are no longer healed).
  const busy = { threshold: ALARMS.lambdaErrorsPer5Minutes, periods: 1 }
  const lambdas: ReadonlyArray<readonly [string, sst.aws.Function, { threshold: number; periods: number }]> = [
    ["StartProcessing", input.startProcessing, busy],
    ...SIZES.map((size) => [`ProcessImage${SIZE_TITLE[size]}`, input.processImage[size], busy] as const),
    // A receiver's refusal is no error (it is retried); an invocation error is a crash.
    ["DeliverWebhook", input.deliverWebhook, busy],
    ["Reconcile", input.reconcile, { threshold: 0, periods: 2 }]
  ]
  const lambdaAlarms = lambdas.flatMap(([title, fn, errors]) => [
    alarm(
      `${title}Errors`,
      {
        name: named(`${title}-errors`),
        description: `${title} invocations failed (crash, timeout, or out of memory): read its logs (docs/deploy.md).`,
        threshold: errors.threshold,
        periods: errors.periods
      },
      {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: fn.name },
        statistic: "Sum",
        period: 300
      }
    ),
    alarm(
      `${title}Throttles`,
      {
        name: named(`${title}-throttles`),
        description:
          `${title} was throttled for 15 minutes: the account's concurrency is exhausted (each function's own ` +
          "cap is its queue mapping's maximumConcurrency, which holds work on the queue instead of throttling).",
        threshold: 0,
        periods: 3
      },
      {
        namespace: "AWS/Lambda",
        metricName: "Throttles",
        dimensions: { FunctionName: fn.name },
        statistic: "Sum",
        period: 300
      }
    )
  ])

  const database = { DBInstanceIdentifier: input.postgres.id }
  const databaseAlarms = [
    alarm(
      "DatabaseCpu",
      {
        name: named("database-cpu"),
        description:
          `RDS CPU above ${ALARMS.databaseCpuPercent} % for 15 minutes: slow queries, or a larger instance is due.`,
        threshold: ALARMS.databaseCpuPercent,
        periods: 3
      },
      { namespace: "AWS/RDS", metricName: "CPUUtilization", dimensions: database, statistic: "Average", period: 300 }
    ),
    alarm(
      "DatabaseFreeStorage",
      {
        name: named("database-free-storage"),
        description:
          `RDS free storage below ${sizing.database.freeStorageAlarmGb} GB: storage autoscaling reached its ceiling ` +
          "(settings.ts stageSizing) or waits out its cooldown. Raise the ceiling, or delete old rows.",
        threshold: sizing.database.freeStorageAlarmGb * 1e9,
        below: true,
        // No data from a database is not "fine".
        missing: "breaching"
      },
      { namespace: "AWS/RDS", metricName: "FreeStorageSpace", dimensions: database, statistic: "Minimum", period: 300 }
    ),
    alarm(
      "DatabaseConnections",
      {
        name: named("database-connections"),
        description:
          `RDS connections above ${ALARMS.connectionsPercent} % of max_connections: see the connection budget (docs/deploy.md).`,
        threshold: Math.floor((rdsMaxConnections(sizing.database.instance) * ALARMS.connectionsPercent) / 100),
        periods: 3
      },
      { namespace: "AWS/RDS", metricName: "DatabaseConnections", dimensions: database, statistic: "Maximum" }
    ),
    alarm(
      "ProxyConnections",
      {
        name: named("proxy-connections"),
        description:
          `RDS Proxy holds more than ${ALARMS.connectionsPercent} % of the connections it may open: clients will ` +
          "wait for a connection. See the connection budget (docs/deploy.md).",
        threshold: Math.floor((connectionBudget(stage).proxy * ALARMS.connectionsPercent) / 100),
        periods: 3
      },
      {
        namespace: "AWS/RDS",
        metricName: "DatabaseConnections",
        dimensions: { ProxyName: input.postgres.proxyId },
        statistic: "Maximum"
      }
    )
  ]

  // The load balancer exists only when deployed: under `sst dev` the API runs on this machine.
  const loadBalancer = $dev ? undefined : input.service.nodes.loadBalancer.arnSuffix
  const apiAlarms = loadBalancer === undefined
    ? []
    : [
      alarm(
        "Api5xxRate",
        {
          name: named("api-5xx-rate"),
          description:
            `More than ${ALARMS.api5xxPercent} % of API requests answered 5xx for 10 minutes (the tasks' or the load balancer's).`,
          threshold: ALARMS.api5xxPercent,
          periods: 2
        },
        {
          metricQueries: [
            ...(["HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"] as const).map((
              metricName,
              i
            ) => ({
              id: ["target", "elb", "requests"][i] ?? metricName,
              returnData: false,
              metric: {
                namespace: "AWS/ApplicationELB",
                metricName,
                dimensions: { LoadBalancer: loadBalancer },
                stat: "Sum",
                period: 300
              }
            })),
            {
              id: "rate",
              label: "5xx, % of requests",
              returnData: true,
              expression: "100 * (FILL(target, 0) + FILL(elb, 0)) / requests"
            }
          ]
        }
      ),
      alarm(
        "ApiLatencyP99",
        {
          name: named("api-latency-p99"),
          description:
            `API p99 response time above ${ALARMS.apiP99Seconds} s for 15 minutes: database, or too few tasks.`,
          threshold: ALARMS.apiP99Seconds,
          periods: 3
        },
        {
          namespace: "AWS/ApplicationELB",
          metricName: "TargetResponseTime",
          dimensions: { LoadBalancer: loadBalancer },
          extendedStatistic: "p99",
          period: 300
        }
      )
    ]

  const dashboard = pipelineDashboard({ ...input, loadBalancer })

  return {
    topic,
    deadLetterDepth,
    oldestMessage,
    ingestOldestMessage,
    ingestDeadLetterDepth,
    webhookDeadLetterDepth,
    lambdaAlarms,
    databaseAlarms,
    apiAlarms,
    dashboard
  }
}
