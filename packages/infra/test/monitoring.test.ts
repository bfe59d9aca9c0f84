/**
 * The connection budget, the alarms and the dashboard, per stage (docs/deploy.md,
 * "Connection budget", "Alarms and dashboard"): read back from the recorded resources, so that
 * raising one number without the others fails here.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { connectionBudget, CONNECTIONS, rdsMaxConnections } from "../settings.js"
import { arr, at, evaluate, type Evaluation, obj, queries, str, WITH_DOMAINS } from "./support/evaluate.js"
import type { Recorded } from "./support/sst-fakes.js"

const SIZES = ["small", "medium", "large"] as const

describe.each(["test", "prod"])("sst.config.ts, stage %s: budget and monitoring", (stage) => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate(stage, { settings: WITH_DOMAINS })
  })
  const ofKind = (kind: string) => queries(e).ofKind(kind)
  const named = (kind: string, name: string) => queries(e).named(kind, name)
  const functionByArn = (arn: unknown): Recorded => queries(e).functionByArn(arn)

  it("caps every Lambda's concurrency within the connection budget the proxy allows", () => {
    // Everything read back from the recorded resources, so raising one number alone fails here.
    const pool = (r: Recorded) => Number(obj(r.args.environment).IMGPIPE_DB_POOL_SIZE)
    const lambdaConnections = ofKind("Queue.subscribe").reduce((sum, subscription) => {
      const cap = Number(
        at(subscription.args, "transform", "eventSourceMapping", "scalingConfig", "maximumConcurrency")
      )
      expect(cap, `${subscription.name}: AWS's minimum is 2`).toBeGreaterThanOrEqual(2)
      return sum + cap * pool(functionByArn(subscription.args.subscriber))
    }, 0)
    // Every other function that opens the database (Migrate is in CONNECTIONS.other) is capped by
    // a reserved concurrency, counted here. StartProcessing is a queue subscriber now (the ingest
    // queue), capped by its mapping above: it must not appear here uncapped.
    const capped = new Set(ofKind("Queue.subscribe").map((s) => functionByArn(s.args.subscriber).name))
    expect(capped.has("StartProcessing")).toBe(true)
    const reservedConnections = ofKind("sst.aws.Function")
      .filter((f) => obj(f.args.environment).DATABASE_URL !== undefined && f.name !== "Migrate" && !capped.has(f.name))
      .reduce((sum, f) => {
        const reserved = Number(at(f.args, "concurrency", "reserved"))
        expect(reserved, `${f.name}: capped by neither a queue mapping nor a reserved concurrency`)
          .toBeGreaterThanOrEqual(1)
        return sum + reserved * pool(f)
      }, 0)
    const api = named("sst.aws.Service", "Api")
    const demand = lambdaConnections + reservedConnections + Number(at(api.args, "scaling", "max")) * pool(api) +
      CONNECTIONS.other
    const instance = str(ofKind("sst.aws.Postgres")[0]?.args.instance)
    const transforms = ofKind("$transform").filter((t) => t.name === "aws.rds.ProxyDefaultTargetGroup")
    expect(transforms).toHaveLength(1)
    const targetGroup: { connectionPoolConfig?: { maxConnectionsPercent?: number } } = {}
    ;(transforms[0]?.args.cb as (args: object) => void)(targetGroup)
    const percent = Number(targetGroup.connectionPoolConfig?.maxConnectionsPercent)
    expect(percent).toBeLessThanOrEqual(100)
    const proxy = Math.floor((rdsMaxConnections(instance) * percent) / 100)
    expect(demand, `${demand} connections at most; the proxy may open ${proxy}`).toBeLessThanOrEqual(
      proxy * CONNECTIONS.headroom
    )
    // settings.ts's own sum (docs/deploy.md's table) counts what the resources do.
    expect(connectionBudget(stage).demand).toBe(demand)
  })

  it("alarms on the queues, every function, the database, the proxy and the API, all to one topic", () => {
    const alarms = ofKind("aws.cloudwatch.MetricAlarm")
    const topic = at(named("sst.aws.SnsTopic", "Alarms").instance, "arn", "value")
    for (const alarm of alarms) {
      expect(alarm.args.alarmActions, alarm.name).toEqual([topic])
      expect(alarm.args.okActions, alarm.name).toEqual([topic])
    }
    expect(new Set(alarms.map((a) => a.args.name)).size, "physical names are unique").toBe(alarms.length)
    const on = (namespace: string, metric: string) =>
      alarms.filter((a) => a.args.metricName === metric && a.args.namespace === namespace)
    const dimension = (key: string) => (a: Recorded) => at(a.args, "dimensions", key)

    const dlqDepth = on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    expect(dlqDepth.map(dimension("QueueName")).sort()).toEqual(
      [e.outputs.deadLetterQueueName, `image-uploaded-dlq-${stage}`, `webhooks-dlq-${stage}`].sort()
    )
    for (const alarm of dlqDepth) {
      expect(alarm.args.threshold, alarm.name).toBe(0)
      expect(alarm.args.comparisonOperator, alarm.name).toBe("GreaterThanThreshold")
    }
    // Not the webhook queue: a delivery waiting out its backoff (up to 24 h) is old by design.
    expect(on("AWS/SQS", "ApproximateAgeOfOldestMessage").map(dimension("QueueName")).sort()).toEqual(
      [...SIZES.map((size) => `process-${size}-image-${stage}`), `image-uploaded-${stage}`].sort()
    )
    const functions = [
      "StartProcessing",
      "ProcessImageSmall",
      "ProcessImageMedium",
      "ProcessImageLarge",
      "Reconcile",
      "DeliverWebhook"
    ]
      .map((name) => at(named("sst.aws.Function", name).instance, "name", "value"))
    expect(on("AWS/Lambda", "Errors").map(dimension("FunctionName")).sort()).toEqual([...functions].sort())
    expect(on("AWS/Lambda", "Throttles").map(dimension("FunctionName")).sort()).toEqual([...functions].sort())
    // Reconcile runs once per 5 minutes: any failed run, two periods in a row, must be able to fire.
    const reconcileErrors = on("AWS/Lambda", "Errors").find((a) => dimension("FunctionName")(a) === functions[4])
    expect([reconcileErrors?.args.threshold, reconcileErrors?.args.evaluationPeriods, reconcileErrors?.args.period])
      .toEqual([0, 2, 300])
    // StartProcessing is invoked by SQS now: no asynchronous events to drop, no alarm on them.
    expect(on("AWS/Lambda", "AsyncEventsDropped")).toHaveLength(0)

    const database = `imgpipe-${stage}-database`
    expect(on("AWS/RDS", "CPUUtilization").map(dimension("DBInstanceIdentifier"))).toEqual([database])
    const storage = on("AWS/RDS", "FreeStorageSpace")
    expect(storage.map(dimension("DBInstanceIdentifier"))).toEqual([database])
    expect(storage[0]?.args.comparisonOperator).toBe("LessThanThreshold")
    const connections = on("AWS/RDS", "DatabaseConnections")
    expect(connections.map(dimension("DBInstanceIdentifier")).filter(Boolean)).toEqual([database])
    expect(connections.map(dimension("ProxyName")).filter(Boolean)).toEqual([`imgpipe-${stage}-databaseproxy`])
    for (const alarm of connections) expect(Number(alarm.args.threshold), alarm.name).toBeGreaterThan(0)

    const loadBalancer = "app/imgpipe-api/0123456789abcdef"
    const p99 = on("AWS/ApplicationELB", "TargetResponseTime")
    expect(p99.map((a) => [dimension("LoadBalancer")(a), a.args.extendedStatistic])).toEqual([[loadBalancer, "p99"]])
    const rates = alarms.filter((a) => a.args.metricQueries !== undefined)
    expect(rates).toHaveLength(1)
    const queries = arr(rates[0]?.args.metricQueries).map(obj)
    expect(queries.map((q) => at(q, "metric", "metricName")).filter(Boolean).sort()).toEqual(
      ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "RequestCount"].sort()
    )
    for (const q of queries.filter((q) => q.metric !== undefined)) {
      expect(at(q, "metric", "dimensions", "LoadBalancer")).toBe(loadBalancer)
    }
    expect(queries.filter((q) => q.returnData === true).map((q) => q.expression)).toHaveLength(1)

    // 3 DLQs (jobs, uploads, webhooks) + 4 queue ages (3 sizes, ingest) + 6 × (errors, throttles)
    // + 4 database + 2 API.
    expect(alarms).toHaveLength(25)
  })

  it("draws one dashboard of the pipeline's flow", () => {
    const dashboards = ofKind("aws.cloudwatch.Dashboard")
    expect(dashboards).toHaveLength(1)
    expect(e.outputs.dashboardName).toBe(`imgpipe-${stage}`)
    const widgets = arr(at(JSON.parse(str(dashboards[0]?.args.dashboardBody)), "widgets")).map(obj)
    const lines = widgets.flatMap((w) =>
      arr(at(w, "properties", "metrics")).map((line) => arr(line).slice(0, 4).join(" "))
    )
    const fn = (name: string) => String(at(named("sst.aws.Function", name).instance, "name", "value"))
    // Uploads: S3's notifications sent to the ingest queue (StartProcessing's invocations are batches).
    expect(lines).toContain(`AWS/SQS NumberOfMessagesSent QueueName image-uploaded-${stage}`)
    expect(lines).not.toContain(`AWS/Lambda Invocations FunctionName ${fn("StartProcessing")}`)
    expect(lines).toContain(`AWS/SQS ApproximateAgeOfOldestMessage QueueName image-uploaded-${stage}`)
    expect(lines).toContain(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName image-uploaded-dlq-${stage}`)
    for (const size of SIZES) {
      expect(lines).toContain(`AWS/SQS NumberOfMessagesSent QueueName process-${size}-image-${stage}`)
      expect(lines).toContain(
        `AWS/Lambda Duration FunctionName ${fn(`ProcessImage${size[0]?.toUpperCase()}${size.slice(1)}`)}`
      )
    }
    expect(lines).toContain(
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${String(e.outputs.deadLetterQueueName)}`
    )
    // Webhooks: dispatched and finished, the dead ones, and their deliverer's duration.
    expect(lines).toContain(`AWS/SQS NumberOfMessagesSent QueueName webhooks-${stage}`)
    expect(lines).toContain(`AWS/SQS NumberOfMessagesDeleted QueueName webhooks-${stage}`)
    expect(lines).toContain(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName webhooks-dlq-${stage}`)
    expect(lines).toContain(`AWS/Lambda Duration FunctionName ${fn("DeliverWebhook")}`)
  })
})
