/**
 * The deployment's shape, without AWS: `sst.config.ts`'s `run()` is evaluated against recording
 * stand-ins for SST's globals (support/sst-fakes.ts), once per stage, and the recorded components
 * are checked against the spec (../../shared/spec/SYSTEM.md) and the issue. Removing a resource or
 * miswiring one fails here; a misspelled option name fails `bun run check:infra`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import {
  arr,
  at,
  evaluate,
  type Evaluation,
  obj,
  queries,
  root,
  seconds,
  str,
  WITH_DOMAINS
} from "./support/evaluate.js"
import { ACCOUNT, POSTGRES_SECRET_NAME, type Recorded, REGION } from "./support/sst-fakes.js"

/** The spec's environment variables ("Entry points and configuration"). */
const SPEC_VARIABLES = new Set([
  "DATABASE_URL",
  "IMGPIPE_RAW_BUCKET",
  "IMGPIPE_PROCESSED_BUCKET",
  "IMGPIPE_QUEUE_SMALL_URL",
  "IMGPIPE_QUEUE_MEDIUM_URL",
  "IMGPIPE_QUEUE_LARGE_URL",
  "AWS_REGION",
  "AWS_ENDPOINT_URL",
  "IMGPIPE_API_KEYS",
  // "Operations": the admin API's keys.
  "IMGPIPE_ADMIN_KEYS",
  "IMGPIPE_MAX_UPLOAD_BYTES",
  "IMGPIPE_MAX_PIXELS",
  "IMGPIPE_KEEP_ORIGINALS",
  "PORT",
  "IMGPIPE_PUBLIC_URL",
  "IMGPIPE_DATA_DIR",
  "IMGPIPE_STALL_SECONDS",
  "IMGPIPE_EXPIRE_GRACE_SECONDS",
  "IMGPIPE_RECONCILE_EVERY_SECONDS",
  // "Integration" (webhooks): the stage-wide receiver, the signing secret, the backoff's base.
  "IMGPIPE_WEBHOOK_URL",
  "IMGPIPE_WEBHOOK_SECRET",
  "IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS",
  // "Delivery": the extra encodings, how renditions are handed out, and where the CDN serves them.
  "IMGPIPE_FORMATS",
  "IMGPIPE_DELIVERY",
  "IMGPIPE_CDN_URL"
])
/** Handler settings outside the spec's table that the infra deliberately sets (environment.ts). */
const HANDLER_VARIABLES = new Set([
  "IMGPIPE_MAX_RECEIVES",
  // The secret holding the database password, read at cold start (DATABASE_URL has none).
  "IMGPIPE_DATABASE_SECRET_ARN",
  // Connections per container, as counted in the connection budget (settings.ts CONNECTIONS).
  "IMGPIPE_DB_POOL_SIZE",
  // ProcessImage's memory (functions.ts, settings.ts PROCESS_IMAGE).
  "IMGPIPE_DECODE_MEMORY_BUDGET_MB",
  "IMGPIPE_BATCH_CONCURRENCY",
  "IMGPIPE_SHARP_CONCURRENCY",
  "MALLOC_ARENA_MAX",
  "MALLOC_MMAP_THRESHOLD_",
  // The webhook queue (dispatchers and DeliverWebhook) and its DLQ (DeliverWebhook): webhooks.test.ts.
  "IMGPIPE_WEBHOOK_QUEUE_URL",
  "IMGPIPE_WEBHOOK_DLQ_URL",
  // One request's time limit, which the DeliverWebhook timeout is sized from (settings.ts DELIVER_WEBHOOK).
  "IMGPIPE_WEBHOOK_TIMEOUT_SECONDS"
])

const SIZES = ["small", "medium", "large"] as const

/** Files named by a handler string `dir/file.export` and whether they export it. */
const handlerFile = (handler: string) => {
  const dot = handler.lastIndexOf(".")
  const base = handler.slice(0, dot)
  const exported = handler.slice(dot + 1)
  const file = [".ts", ".mts", ".js", ".mjs"].map((ext) => join(root, base + ext)).find((f) => existsSync(f))
  return { base, exported, file }
}
/**
 * Read, not imported: the handler files import the AWS layers and sharp, and a test of the
 * topology should not load them. Accepts `export const handler =` and `export { handler }`.
 */
const exportsName = (source: string, name: string) =>
  new RegExp(`export\\s+(const|let|var|function|async\\s+function)\\s+${name}\\b`).test(source) ||
  new RegExp(`export\\s*\\{[^}]*\\b${name}\\b[^}]*\\}`).test(source)

const packageJson = obj(JSON.parse(readFileSync(join(root, "package.json"), "utf8")))
const sharpVersion = at(JSON.parse(readFileSync(join(root, "node_modules/sharp/package.json"), "utf8")), "version")

// ---- the checks, per stage --------------------------------------------------------------------

describe.each(["test", "prod"])("sst.config.ts, stage %s", (stage) => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate(stage, { settings: WITH_DOMAINS })
  })
  const ofKind = (kind: string) => queries(e).ofKind(kind)
  const named = (kind: string, name: string) => queries(e).named(kind, name)
  const functionByArn = (arn: unknown): Recorded => queries(e).functionByArn(arn)
  const bucketName = (kind: "raw" | "processed") => `${kind}-image-${stage}`

  it("is the imgpipe app on AWS, with the pinned SST and the stage's removal policy", () => {
    expect(e.app.name).toBe("imgpipe")
    expect(e.app.home).toBe("aws")
    expect(e.app.version).toBe(at(packageJson, "devDependencies", "sst"))
    expect(e.app.removal).toBe(stage === "prod" ? "retain" : "remove")
    expect(e.app.protect ?? false).toBe(stage === "prod")
  })

  it("names the two buckets per stage, unique to the account by default, raw with browser PUT CORS", () => {
    // S3 names are global: the default carries the deploying account's id, and ends as the spec says.
    const prefix = `imgpipe-${ACCOUNT}-`
    const buckets = ofKind("sst.aws.Bucket")
    expect(buckets.map((b) => at(b.args, "transform", "bucket", "bucket")).sort()).toEqual(
      [`${prefix}${bucketName("processed")}`, `${prefix}${bucketName("raw")}`].sort()
    )
    const raw = named("sst.aws.Bucket", "RawImages")
    expect(arr(at(raw.args, "cors", "allowMethods"))).toContain("PUT")
    expect(arr(at(raw.args, "cors", "allowHeaders")).map((h) => str(h).toLowerCase())).toEqual(
      expect.arrayContaining(["content-type", "if-none-match"])
    )
    expect(e.outputs.rawBucket).toBe(`${prefix}${bucketName("raw")}`)
    expect(e.outputs.processedBucket).toBe(`${prefix}${bucketName("processed")}`)
    for (const name of [e.outputs.rawBucket, e.outputs.processedBucket]) {
      expect(str(name)).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/)
    }
  })

  it("moves raw objects to Standard-IA after 30 days and aborts incomplete multipart uploads", () => {
    const raw = named("aws.s3.BucketLifecycleConfiguration", "RawImagesLifecycle")
    expect(raw.args.bucket).toBe(e.outputs.rawBucket)
    const rules = arr(raw.args.rules).map(obj)
    expect(rules.every((r) => r.status === "Enabled")).toBe(true)
    expect(rules.flatMap((r) => arr(r.transitions ?? []))).toContainEqual({ days: 30, storageClass: "STANDARD_IA" })
    expect(rules.some((r) => typeof at(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") === "number")).toBe(
      true
    )
  })

  it("has three size queues redriving to one dead-letter queue after 5 receives (the ingest and webhook queues: ingest.test.ts, webhooks.test.ts)", () => {
    const other = (q: Recorded) => /^(image-uploaded|webhooks)-/.test(String(at(q.args, "transform", "queue", "name")))
    const queues = ofKind("sst.aws.Queue").filter((q) => !other(q))
    expect(queues).toHaveLength(4)
    const dlq = queues.filter((q) => q.args.dlq === undefined)
    expect(dlq).toHaveLength(1)
    const dlqArn = at(dlq[0]?.instance, "arn", "value")
    const sizeQueues = queues.filter((q) => q.args.dlq !== undefined)
    expect(sizeQueues.map((q) => at(q.args, "transform", "queue", "name")).sort()).toEqual(
      SIZES.map((size) => `process-${size}-image-${stage}`).sort()
    )
    for (const queue of sizeQueues) {
      // 5 in AWS (a throttled invocation counts a receive); the embedded default stays 3.
      expect(queue.args.dlq).toEqual({ queue: dlqArn, retry: 5 })
    }
    for (const size of SIZES) {
      expect(e.outputs[`${size}QueueName`]).toBe(`process-${size}-image-${stage}`)
      expect(e.outputs[`${size}QueueUrl`]).toBe(
        `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/process-${size}-image-${stage}`
      )
    }
  })

  it("subscribes ProcessImage to each size queue with partial batch responses", () => {
    const subscriptions = ofKind("Queue.subscribe").filter((s) => /^process-/.test(s.name))
    expect(subscriptions.map((s) => s.name).sort()).toEqual(
      SIZES.map((size) => `process-${size}-image-${stage}`).sort()
    )
    for (const subscription of subscriptions) {
      const fn = functionByArn(subscription.args.subscriber)
      expect(fn.args.handler).toBe("packages/functions/src/process-image.handler")
      expect(at(subscription.args, "batch", "partialResponses")).toBe(true)
      const size = at(subscription.args, "batch", "size")
      expect(size).toBeGreaterThanOrEqual(1)
      expect(size).toBeLessThanOrEqual(10)
      const window = seconds(at(subscription.args, "batch", "window"))
      // AWS: visibility timeout ≥ 6 × the function timeout (+ the batch window).
      const queue = ofKind("sst.aws.Queue").find((q) => at(q.args, "transform", "queue", "name") === subscription.name)
      expect(seconds(queue?.args.visibilityTimeout)).toBeGreaterThanOrEqual(6 * seconds(fn.args.timeout) + window)
    }
  })

  it("gives ProcessImage a decode memory budget below its memory, with room for the runtime", () => {
    for (const size of ["Small", "Medium", "Large"]) {
      const fn = named("sst.aws.Function", `ProcessImage${size}`)
      const memoryMb = Number(/^(\d+) MB$/.exec(str(fn.args.memory))?.[1])
      const env = obj(fn.args.environment)
      const budgetMib = Number(env.IMGPIPE_DECODE_MEMORY_BUDGET_MB)
      expect(budgetMib, size).toBeGreaterThan(0)
      expect(budgetMib, `${size}: the budget must be below the memory`).toBeLessThan(memoryMb)
      // Node, the bundle, sharp and the SDKs need their share beside the decodes.
      expect(memoryMb - budgetMib, size).toBeGreaterThanOrEqual(256)
      // The largest AVIF the pixel limit lets in at 8 bits (49 MP: ~1 GiB estimated) fits alone.
      expect(budgetMib, size).toBeGreaterThanOrEqual(1024)
      expect(Number(env.IMGPIPE_BATCH_CONCURRENCY), size).toBeGreaterThanOrEqual(1)
    }
  })

  it("runs every function on nodejs22.x x86_64, with sharp installed for the image handlers", () => {
    const fns = ofKind("sst.aws.Function")
    expect(fns.map((f) => f.name).sort()).toEqual(
      [
        "DeliverWebhook",
        "Migrate",
        "ProcessImageLarge",
        "ProcessImageMedium",
        "ProcessImageSmall",
        "Reconcile",
        "StartProcessing"
      ].sort()
    )
    for (const fn of fns) {
      expect(fn.args.runtime, fn.name).toBe("nodejs22.x")
      expect(fn.args.architecture, fn.name).toBe("x86_64")
      expect(fn.args.vpc, `${fn.name} must be in the VPC to reach RDS`).toBeDefined()
      expect(fn.args.link, `${fn.name}: links grant s3:*/sqs:*; use permissions`).toBeUndefined()
      if (fn.name === "DeliverWebhook") {
        // Its bundle leaves sharp out (packages/functions/test/bundle.test.ts): nothing to install.
        expect(at(fn.args, "nodejs", "install"), fn.name).toBeUndefined()
      } else if (str(fn.args.handler).startsWith("packages/functions/")) {
        // Pinned to the lockfile's sharp (npm would otherwise install the newest).
        expect(at(fn.args, "nodejs", "install", "sharp"), fn.name).toBe(sharpVersion)
      }
    }
  })

  it("names only handler files that exist and export the handler", () => {
    const handlers = [...new Set(ofKind("sst.aws.Function").map((f) => str(f.args.handler)))]
    expect(handlers.length).toBeGreaterThanOrEqual(3)
    for (const handler of handlers) {
      const { base, exported, file } = handlerFile(handler)
      expect(file, `${handler}: no ${base}.ts`).toBeDefined()
      expect(exportsName(readFileSync(file ?? "", "utf8"), exported), `${file} does not export ${exported}`).toBe(true)
    }
  })

  it("has PostgreSQL behind RDS Proxy and a migration step that gates the new code", () => {
    const databases = ofKind("sst.aws.Postgres")
    expect(databases).toHaveLength(1)
    expect(databases[0]?.args.proxy).toBe(true)
    expect(databases[0]?.args.vpc).toBeDefined()

    const migrate = named("sst.aws.Function", "Migrate")
    const invocations = ofKind("aws.lambda.Invocation")
    expect(invocations).toHaveLength(1)
    const invocation = invocations[0]
    expect(invocation?.args.functionName).toBe(at(migrate.instance, "name", "value"))
    expect(e.outputs.migrateFunction).toBe(at(migrate.instance, "name", "value"))
    // What runs the new code waits for the migration.
    for (
      const [kind, name] of [
        ["sst.aws.Function", "StartProcessing"],
        ["sst.aws.Function", "DeliverWebhook"],
        ...SIZES.map((size) => ["sst.aws.Function", `ProcessImage${size[0]?.toUpperCase()}${size.slice(1)}`]),
        ["sst.aws.Service", "Api"]
      ] as const
    ) {
      expect(arr(named(kind, name).opts.dependsOn), `${name} must depend on the migration`).toContain(
        invocation?.instance
      )
    }
  })

  it("gives each runtime the spec's variables, built from the resources", () => {
    const proxy = `imgpipe-${stage}-proxy.proxy-abc.${REGION}.rds.amazonaws.com`
    // No password: the runtimes read it from the secret (secrets.test.ts).
    const url = `postgres://postgres@${proxy}:5432/imgpipe?sslmode=verify-full`
    const database = {
      DATABASE_URL: url,
      IMGPIPE_DATABASE_SECRET_ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${POSTGRES_SECRET_NAME}`
    }
    const queueUrl = (size: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/process-${size}-image-${stage}`
    // What dispatches webhooks (a terminal status) gets the webhook queue (webhooks.test.ts).
    const webhooks = { IMGPIPE_WEBHOOK_QUEUE_URL: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/webhooks-${stage}` }
    const limits = {
      IMGPIPE_MAX_UPLOAD_BYTES: "26214400",
      IMGPIPE_MAX_PIXELS: "50000000",
      IMGPIPE_KEEP_ORIGINALS: "true",
      // The stage's extra encodings (settings.ts stageDelivery), the same for every runtime.
      IMGPIPE_FORMATS: "webp"
    }

    expect(named("sst.aws.Function", "StartProcessing").args.environment).toEqual({
      ...database,
      IMGPIPE_QUEUE_SMALL_URL: queueUrl("small"),
      IMGPIPE_QUEUE_MEDIUM_URL: queueUrl("medium"),
      IMGPIPE_QUEUE_LARGE_URL: queueUrl("large"),
      IMGPIPE_DB_POOL_SIZE: "2",
      ...limits
    })
    for (const size of ["Small", "Medium", "Large"]) {
      expect(named("sst.aws.Function", `ProcessImage${size}`).args.environment).toEqual({
        ...database,
        IMGPIPE_RAW_BUCKET: e.outputs.rawBucket,
        IMGPIPE_PROCESSED_BUCKET: e.outputs.processedBucket,
        // The queues' maxReceiveCount: the last delivery records the failure on the image.
        IMGPIPE_MAX_RECEIVES: "5",
        IMGPIPE_DB_POOL_SIZE: "2",
        IMGPIPE_DECODE_MEMORY_BUDGET_MB: expect.stringMatching(/^\d+$/),
        IMGPIPE_BATCH_CONCURRENCY: expect.stringMatching(/^\d+$/),
        IMGPIPE_SHARP_CONCURRENCY: "1",
        MALLOC_ARENA_MAX: "2",
        MALLOC_MMAP_THRESHOLD_: "131072",
        ...webhooks,
        ...limits
      })
    }

    const service = named("sst.aws.Service", "Api")
    expect(service.args.environment).toEqual({
      ...database,
      IMGPIPE_RAW_BUCKET: e.outputs.rawBucket,
      IMGPIPE_PROCESSED_BUCKET: e.outputs.processedBucket,
      PORT: "3000",
      // The admin API's reprocessing and statistics.
      IMGPIPE_QUEUE_SMALL_URL: queueUrl("small"),
      IMGPIPE_QUEUE_MEDIUM_URL: queueUrl("medium"),
      IMGPIPE_QUEUE_LARGE_URL: queueUrl("large"),
      ...webhooks,
      IMGPIPE_DB_POOL_SIZE: stage === "prod" ? "10" : "5",
      // Renditions through the stage's CloudFront distribution (cdn.test.ts).
      IMGPIPE_DELIVERY: "cdn",
      IMGPIPE_CDN_URL: "https://d111111abcdef8.cloudfront.net",
      ...limits
    })
    // Secrets reach the task as SSM SecureString references, never in the task definition.
    const ssm = obj(service.args.ssm)
    // The webhook secret too: with it `POST /upload` accepts a callback_url (webhooks.test.ts).
    expect(Object.keys(ssm).sort()).toEqual(["IMGPIPE_ADMIN_KEYS", "IMGPIPE_API_KEYS", "IMGPIPE_WEBHOOK_SECRET"])
    const parameters = ofKind("aws.ssm.Parameter")
    for (const [variable, arn] of Object.entries(ssm)) {
      const parameter = parameters.find((p) => at(p.instance, "arn", "value") === arn)
      expect(parameter?.args.type, variable).toBe("SecureString")
    }
    expect(parameters.find((p) => p.args.value === "secret-value-of-ApiKeys")).toBeDefined()
    expect(parameters.find((p) => p.args.value === "secret-value-of-WebhookSecret")).toBeDefined()
    expect(parameters.find((p) => p.args.value === "secret-value-of-AdminKeys")).toBeDefined()
    // A new secret value rolls the tasks (ECS reads parameters only at task start).
    expect(at(service.args, "transform", "service", "forceNewDeployment")).toBe(true)
    expect(at(service.args, "transform", "service", "triggers", "secrets")).toBe("1.1.1")

    for (const runtime of [...ofKind("sst.aws.Function"), service]) {
      for (
        const variable of [...Object.keys(obj(runtime.args.environment)), ...Object.keys(obj(runtime.args.ssm ?? {}))]
      ) {
        expect(SPEC_VARIABLES.has(variable) || HANDLER_VARIABLES.has(variable), `${runtime.name}: ${variable}`).toBe(
          true
        )
      }
    }
  })

  it("grants each runtime only what it does", () => {
    const actions = (r: Recorded) => arr(r.args.permissions ?? []).flatMap((p) => arr(obj(p).actions).map(str))
    const all = [...ofKind("sst.aws.Function"), named("sst.aws.Service", "Api")]
    for (const runtime of all) {
      expect(actions(runtime).filter((a) => a.includes("*")), runtime.name).toEqual([])
    }
    // Reading the database password is every database user's grant: secrets.test.ts checks it.
    const beyondSecret = (r: Recorded) => actions(r).filter((a) => a !== "secretsmanager:GetSecretValue")
    // Send to the size queues; consume the ingest queue (ingest.test.ts checks the resources).
    expect(beyondSecret(named("sst.aws.Function", "StartProcessing")).sort()).toEqual(
      [
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes"
      ].sort()
    )
    for (const size of ["Small", "Medium", "Large"]) {
      const fn = named("sst.aws.Function", `ProcessImage${size}`)
      const granted = actions(fn)
      // Sends only webhooks (a ready or failed image), never jobs.
      const sends = arr(fn.args.permissions).map(obj).filter((p) => arr(p.actions).includes("sqs:SendMessage"))
      expect(sends).toEqual([
        { actions: ["sqs:SendMessage"], resources: [`arn:aws:sqs:${REGION}:${ACCOUNT}:webhooks-${stage}`] }
      ])
      expect(granted).toEqual(
        expect.arrayContaining([
          "s3:GetObject",
          "s3:PutObject",
          "s3:PutObjectTagging",
          "s3:DeleteObjectTagging",
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage"
        ])
      )
      // A duplicate upload's renditions are copied (CopyObject reads the source with the
      // function's rights); a vanished source must answer 404, not 403 (ListBucket).
      const on = (action: string) =>
        arr(fn.args.permissions).map(obj).filter((p) => arr(p.actions).includes(action)).flatMap((p) =>
          arr(p.resources)
        )
      expect(on("s3:GetObject")).toContain(`arn:aws:s3:::${str(e.outputs.processedBucket)}/*`)
      expect(on("s3:PutObject")).toContain(`arn:aws:s3:::${str(e.outputs.processedBucket)}/*`)
      expect(on("s3:ListBucket")).toContain(`arn:aws:s3:::${str(e.outputs.processedBucket)}`)
    }
    const api = actions(named("sst.aws.Service", "Api"))
    expect(api).toEqual(expect.arrayContaining(["s3:PutObject", "s3:GetObject"]))
    // Only the admin API touches the queues: send (reprocess, and the redrive's move back) and count
    // the size queues and the webhook queue; find, count and redrive their dead-letter queues.
    const apiPermissions = arr(named("sst.aws.Service", "Api").args.permissions).map(obj)
    const sqsOn = (resource: string) =>
      apiPermissions.filter((p) => arr(p.resources).includes(resource)).flatMap((p) => arr(p.actions).map(str)).sort()
    for (const queue of ["process-small-image", "process-medium-image", "process-large-image", "webhooks"]) {
      expect(sqsOn(`arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}-${stage}`)).toEqual(
        ["sqs:GetQueueAttributes", "sqs:SendMessage"]
      )
    }
    for (const deadLetter of ["process-image-dlq", "webhooks-dlq"]) {
      expect(sqsOn(`arn:aws:sqs:${REGION}:${ACCOUNT}:${deadLetter}-${stage}`)).toEqual(
        [
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:ReceiveMessage",
          "sqs:StartMessageMoveTask"
        ]
      )
    }
  })

  it("runs the Reconcile function every 5 minutes (reconcile.test.ts checks it in detail)", () => {
    const crons = ofKind("sst.aws.Cron")
    expect(crons.map((c) => [c.name, c.args.schedule])).toEqual([["Reconcile", "rate(5 minutes)"]])
    expect(crons[0]?.args.function).toBe(at(named("sst.aws.Function", "Reconcile").instance, "arn", "value"))
    expect(e.outputs.reconcileFunction).toBeDefined()
  })

  it("runs the API on ECS from the Dockerfile, health-checked on /health and autoscaled", () => {
    expect(ofKind("sst.aws.Cluster")).toHaveLength(1)
    const service = named("sst.aws.Service", "Api")
    expect(service.args.image).toEqual({ context: ".", dockerfile: "packages/api/Dockerfile" })
    const rules = arr(at(service.args, "loadBalancer", "rules")).map(obj)
    const forwards = rules.map((r) => r.forward).filter((f) => f !== undefined)
    expect(forwards).toEqual(["3000/http"])
    expect(at(service.args, "loadBalancer", "health", "3000/http", "path")).toBe("/health")
    const scaling = obj(service.args.scaling)
    expect(scaling.cpuUtilization).toBeTypeOf("number")
    expect(scaling.requestCount).toBeTypeOf("number")
    expect(scaling.max).toBeGreaterThan(Number(scaling.min))
    expect(str(at(service.args, "dev", "command"))).toContain("packages/api/src/main.ts")
    expect(e.outputs.apiUrl).toBe("http://imgpipe-api-123.us-east-1.elb.amazonaws.com/")
    expect(ofKind("sst.Secret").map((s) => s.name)).toContain("ApiKeys")
  })

  it("keeps S3 traffic off the NAT with a gateway endpoint", () => {
    const endpoints = ofKind("aws.ec2.VpcEndpoint")
    expect(endpoints.map((v) => [v.args.serviceName, v.args.vpcEndpointType])).toEqual([
      [`com.amazonaws.${REGION}.s3`, "Gateway"]
    ])
    expect(arr(endpoints[0]?.args.routeTableIds)).toContain("rtb-private-a")
  })
})

describe("sst.config.ts under sst dev", () => {
  it("hands the API's secrets to the local process as plain variables", async () => {
    const e = await evaluate("test", { dev: true })
    const service = e.recorder.named("sst.aws.Service", "Api")
    expect(service.args.ssm).toBeUndefined()
    expect(service.args.transform).toBeUndefined()
    expect(Object.keys(obj(service.args.environment))).toEqual(
      expect.arrayContaining(["DATABASE_URL", "IMGPIPE_API_KEYS", "IMGPIPE_ADMIN_KEYS", "IMGPIPE_WEBHOOK_SECRET"])
    )
    expect(e.recorder.ofKind("aws.ssm.Parameter")).toEqual([])
    // No load balancer under sst dev: no API alarms, and no API graph.
    const alarms = e.recorder.ofKind("aws.cloudwatch.MetricAlarm")
    expect(alarms.filter((a) => a.args.namespace === "AWS/ApplicationELB" || a.args.metricQueries !== undefined))
      .toEqual([])
    expect(alarms).toHaveLength(23)
  })
})

describe("packages/api/Dockerfile", () => {
  const dockerfile = readFileSync(join(root, "packages/api/Dockerfile"), "utf8")
  // Instructions with their continuation lines joined.
  const instructions = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"))

  it("copies only paths that exist in the repository (the build context is the root)", () => {
    const copies = instructions.filter((line) => /^COPY\s/i.test(line) && !/--from=/i.test(line))
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const parts = copy
        .replace(/^COPY\s+/i, "")
        .split(/\s+/)
        .filter((part) => !part.startsWith("--"))
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(root, source)), `${copy}: ${source} is not in the repository`).toBe(true)
      }
    }
  })

  it("gives the installs every workspace manifest (a frozen lockfile refuses a partial workspace)", () => {
    const copiesAllPackages = instructions.some((line) => /^COPY\s+packages\s+packages\/?$/i.test(line))
    const workspaces = readdirSync(join(root, "packages")).filter((dir) =>
      existsSync(join(root, "packages", dir, "package.json"))
    )
    for (const dir of workspaces) {
      expect(
        copiesAllPackages || dockerfile.includes(`COPY packages/${dir}/package.json packages/${dir}/`),
        `packages/${dir}/package.json does not reach the image`
      ).toBe(true)
    }
  })

  it("builds from the API entry point and runs what it built, as a non-root user on node:22-slim", () => {
    expect(existsSync(join(root, "packages/api/src/main.ts")), "packages/api/src/main.ts").toBe(true)
    expect(dockerfile).toContain("packages/api/src/main.ts")
    const from = instructions.filter((line) => /^FROM\s/i.test(line))
    expect(from.length, "multi-stage").toBeGreaterThanOrEqual(2)
    expect(from.every((line) => /node:22-slim/.test(line))).toBe(true)
    const users = instructions.filter((line) => /^USER\s/i.test(line))
    expect(users.at(-1)).toMatch(/^USER\s+(node|\d*[1-9]\d*)\b/)
    // The bundle the last stage runs is the one the build stage wrote.
    const cmd = instructions.filter((line) => /^CMD\s/i.test(line)).at(-1) ?? ""
    const entry = /"([^"]+\.m?js)"/.exec(cmd)?.[1]
    expect(entry, `CMD runs no .js bundle: ${cmd}`).toBeDefined()
    expect(dockerfile).toContain(`--outfile=${entry}`)
  })
})
