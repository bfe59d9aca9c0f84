/**
 * One CloudWatch dashboard, `imgpipe-<stage>`, with the pipeline's flow from top to bottom:
 * uploads (the ingest queue), jobs per size, the queues' age and the dead letters, resize
 * duration, webhook deliveries, then the database and the API (docs/deploy.md#alarms-and-dashboard).
 */
import { type Size, SIZES } from "./settings"

export interface DashboardInput {
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  readonly deadLetter: sst.aws.Queue
  readonly ingest: sst.aws.Queue
  readonly ingestDeadLetter: sst.aws.Queue
  readonly startProcessing: sst.aws.Function
  readonly processImage: Readonly<Record<Size, sst.aws.Function>>
  /** Webhook deliveries, the ones that gave up, and their deliverer (webhooks.ts). */
  readonly webhooks: sst.aws.Queue
  readonly webhooksDeadLetter: sst.aws.Queue
  readonly deliverWebhook: sst.aws.Function
  readonly postgres: sst.aws.Postgres
  /** The load balancer's ARN suffix; absent under `sst dev`. */
  readonly loadBalancer: $util.Input<string> | undefined
}

/** A CloudWatch metric line: namespace, name, dimension pairs, then its options. */
type Line = ReadonlyArray<$util.Input<string> | Readonly<Record<string, string | number>>>

export function pipelineDashboard(input: DashboardInput) {
  const region = aws.getRegionOutput().name
  const queueName = (queue: sst.aws.Queue) => queue.nodes.queue.name

  /** Graphs are 12 wide (two a row), 6 high, placed in order. */
  const graph = (title: string, metrics: ReadonlyArray<Line>, stat: string, period = 60) => ({
    type: "metric",
    width: 12,
    height: 6,
    properties: { title, region, view: "timeSeries", stacked: false, stat, period, metrics }
  })

  const widgets = [
    // S3 posts one notification per object created: the ingest queue's sends are the uploads
    // (StartProcessing's invocations are batches of up to 10 of them).
    graph("Uploads (S3 notifications on the ingest queue) and uploads started", [
      ["AWS/SQS", "NumberOfMessagesSent", "QueueName", queueName(input.ingest), { label: "uploads" }],
      ["AWS/SQS", "NumberOfMessagesDeleted", "QueueName", queueName(input.ingest), { label: "started" }]
    ], "Sum"),
    graph(
      "Jobs per size: sent and done",
      SIZES.flatMap((size) => [
        ["AWS/SQS", "NumberOfMessagesSent", "QueueName", queueName(input.queues[size]), { label: `${size} sent` }],
        ["AWS/SQS", "NumberOfMessagesDeleted", "QueueName", queueName(input.queues[size]), { label: `${size} done` }]
      ]),
      "Sum"
    ),
    graph(
      "Age of the oldest upload and job, seconds",
      [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queueName(input.ingest), { label: "uploads" }],
        ...SIZES.map((
          size
        ) => ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queueName(input.queues[size]), { label: size }])
      ],
      "Maximum"
    ),
    graph("Dead-letter queue depth", [
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queueName(input.deadLetter), {
        label: "dead jobs"
      }],
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queueName(input.ingestDeadLetter), {
        label: "dead uploads"
      }],
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queueName(input.webhooksDeadLetter), {
        label: "dead webhooks"
      }]
    ], "Maximum"),
    graph(
      "Resize duration per batch, ms (p50, p99)",
      SIZES.flatMap((size) => [
        ["AWS/Lambda", "Duration", "FunctionName", input.processImage[size].name, {
          label: `${size} p50`,
          stat: "p50"
        }],
        ["AWS/Lambda", "Duration", "FunctionName", input.processImage[size].name, { label: `${size} p99`, stat: "p99" }]
      ]),
      "p50"
    ),
    graph(
      "ProcessImage containers at once (capped per size)",
      SIZES.map((
        size
      ) => ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", input.processImage[size].name, { label: size }]),
      "Maximum"
    ),
    // Each attempt is one receive: sent (dispatched) vs. deleted (delivered, or moved to the DLQ),
    // and what waits out its backoff (not visible).
    graph("Webhooks: dispatched, finished, waiting for a retry", [
      ["AWS/SQS", "NumberOfMessagesSent", "QueueName", queueName(input.webhooks), { label: "dispatched" }],
      ["AWS/SQS", "NumberOfMessagesDeleted", "QueueName", queueName(input.webhooks), { label: "finished" }],
      ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", queueName(input.webhooks), {
        label: "waiting (backoff or in flight)",
        stat: "Maximum",
        yAxis: "right"
      }]
    ], "Sum"),
    graph("DeliverWebhook duration per batch, ms (p50, p99), and errors", [
      ["AWS/Lambda", "Duration", "FunctionName", input.deliverWebhook.name, { label: "p50", stat: "p50" }],
      ["AWS/Lambda", "Duration", "FunctionName", input.deliverWebhook.name, { label: "p99", stat: "p99" }],
      ["AWS/Lambda", "Errors", "FunctionName", input.deliverWebhook.name, {
        label: "errors",
        stat: "Sum",
        yAxis: "right"
      }]
    ], "p50"),
    graph("Database: connections (instance, proxy) and CPU %", [
      ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", input.postgres.id, { label: "instance connections" }],
      ["AWS/RDS", "DatabaseConnections", "ProxyName", input.postgres.proxyId, { label: "proxy connections" }],
      ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", input.postgres.id, { label: "CPU %", yAxis: "right" }]
    ], "Maximum"),
    ...(input.loadBalancer === undefined
      ? []
      : [
        graph("API: requests, 5xx, p99 seconds", [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", input.loadBalancer, {
            label: "requests",
            stat: "Sum"
          }],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", input.loadBalancer, {
            label: "5xx",
            stat: "Sum"
          }],
          ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", input.loadBalancer, {
            label: "p99 s",
            stat: "p99",
            yAxis: "right"
          }]
        ], "Sum")
      ])
  ]

  return new aws.cloudwatch.Dashboard("Pipeline", {
    dashboardName: `${$app.name}-${$app.stage}`,
    dashboardBody: $jsonStringify({ widgets })
  })
}
