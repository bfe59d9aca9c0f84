/**
 * packages/infra/reconcile.ts evaluated against the recording SST fakes (support/sst-fakes.ts):
 * the `Reconcile` function (handler file, runtime, VPC, environment, least-privilege permissions,
 * reserved concurrency, after the migration) and the `sst.aws.Cron` that runs it every 5 minutes.
 * The function is evaluated directly, with inputs named here; topology.test.ts sees it wired in sst.config.ts.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { beforeAll, describe, expect, it, vi } from "vitest"
import { arr, at, obj, root, seconds, str } from "./support/evaluate.js"
import { installSstFakes, type Recorder } from "./support/sst-fakes.js"

interface Globals {
  readonly sst: { readonly aws: Record<string, new(name: string, args?: unknown, opts?: unknown) => object> }
}

interface ReconcileModule {
  readonly reconciler: (input: Record<string, unknown>) => { readonly reconcile: object; readonly cron: object }
  readonly RECONCILE_HANDLER: string
}

describe.each(["test", "prod"])("reconciler(), stage %s", (stage) => {
  let recorder: Recorder
  let mod: ReconcileModule
  const migration = { migration: true }
  beforeAll(async () => {
    recorder = installSstFakes({ stage, root })
    vi.resetModules()
    // A computed specifier, as evaluate.ts: the root tsconfig must not follow it into SST-typed files.
    mod = (await import(pathToFileURL(join(root, "packages/infra/reconcile.ts")).href)) as ReconcileModule
    const aws = (globalThis as unknown as Globals).sst.aws
    const Queue = aws["Queue"]!
    const Vpc = aws["Vpc"]!
    const Bucket = aws["Bucket"]!
    const queues = {
      small: new Queue("SmallQueue", { transform: { queue: { name: `process-small-image-${stage}` } } }),
      medium: new Queue("MediumQueue", { transform: { queue: { name: `process-medium-image-${stage}` } } }),
      large: new Queue("LargeQueue", { transform: { queue: { name: `process-large-image-${stage}` } } })
    }
    const webhooks = new Queue("Webhooks", { transform: { queue: { name: `webhooks-${stage}` } } })
    mod.reconciler({
      vpc: new Vpc("Vpc"),
      raw: new Bucket("RawImages", { transform: { bucket: { bucket: `raw-image-${stage}` } } }),
      processed: new Bucket("ProcessedImages", { transform: { bucket: { bucket: `processed-image-${stage}` } } }),
      queues,
      databaseUrl: "postgres://imgpipe_app@proxy:5432/imgpipe?sslmode=verify-full",
      databaseSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-a1b2c3",
      migration,
      webhooks
    })
  })
  const fn = () => recorder.named("sst.aws.Function", "Reconcile")

  it("runs the Reconcile handler every 5 minutes through an sst.aws.Cron", () => {
    const cron = recorder.named("sst.aws.Cron", "Reconcile")
    expect(cron.args["schedule"]).toBe("rate(5 minutes)")
    expect(cron.args["function"]).toBe(at(fn().instance, "arn", "value"))
    expect(cron.args["job"], "`job` is the deprecated name").toBeUndefined()
  })

  it("names a handler file that exists and exports `handler`", () => {
    const handler = str(fn().args["handler"])
    expect(handler).toBe(mod.RECONCILE_HANDLER)
    const file = join(root, `${handler.slice(0, handler.lastIndexOf("."))}.ts`)
    expect(existsSync(file), file).toBe(true)
    expect(readFileSync(file, "utf8")).toMatch(/export const handler\b/)
  })

  it("is nodejs22.x x86_64 in the VPC, one at a time, after the migration, inside the period", () => {
    const args = fn().args
    expect([args["runtime"], args["architecture"]]).toEqual(["nodejs22.x", "x86_64"])
    expect(args["vpc"]).toBeDefined()
    expect(at(args, "concurrency", "reserved")).toBe(1)
    expect(seconds(args["timeout"])).toBeLessThan(300)
    expect(arr(fn().opts["dependsOn"])).toContain(migration)
    expect(at(args, "nodejs", "install", "sharp")).toBe(
      at(JSON.parse(readFileSync(join(root, "node_modules/sharp/package.json"), "utf8")), "version")
    )
    expect(args["link"], "links grant s3:*/sqs:*; use permissions").toBeUndefined()
  })

  it("gets the database, the three queue URLs, the stall windows and its pool size", () => {
    const env = obj(fn().args["environment"])
    expect(env).toMatchObject({
      DATABASE_URL: "postgres://imgpipe_app@proxy:5432/imgpipe?sslmode=verify-full",
      IMGPIPE_DATABASE_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-a1b2c3",
      IMGPIPE_QUEUE_SMALL_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/process-small-image-${stage}`,
      IMGPIPE_QUEUE_MEDIUM_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/process-medium-image-${stage}`,
      IMGPIPE_QUEUE_LARGE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/process-large-image-${stage}`,
      IMGPIPE_STALL_SECONDS: "900",
      IMGPIPE_EXPIRE_GRACE_SECONDS: "86400",
      IMGPIPE_DB_POOL_SIZE: "1",
      IMGPIPE_RAW_BUCKET: `raw-image-${stage}`,
      IMGPIPE_PROCESSED_BUCKET: `processed-image-${stage}`,
      // Expired and stalled images are terminal: their webhooks are dispatched.
      IMGPIPE_WEBHOOK_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/webhooks-${stage}`
    })
    expect(Object.keys(env).filter((key) => key.includes("PASSWORD"))).toEqual([])
  })

  it("may send to the three size queues and the webhook queue, HEAD raw originals and read the database password, nothing else", () => {
    const permissions = arr(fn().args["permissions"]).map((p) => obj(p))
    expect(permissions).toEqual([
      {
        actions: ["sqs:SendMessage"],
        resources: ["small", "medium", "large"].map(
          (size) => `arn:aws:sqs:us-east-1:123456789012:process-${size}-image-${stage}`
        )
      },
      { actions: ["sqs:SendMessage"], resources: [`arn:aws:sqs:us-east-1:123456789012:webhooks-${stage}`] },
      { actions: ["s3:GetObject"], resources: [`arn:aws:s3:::raw-image-${stage}/*`] },
      { actions: ["s3:ListBucket"], resources: [`arn:aws:s3:::raw-image-${stage}`] },
      {
        actions: ["secretsmanager:GetSecretValue"],
        resources: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:db-a1b2c3"]
      }
    ])
  })
})
