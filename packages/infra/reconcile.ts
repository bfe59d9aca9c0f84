/**
 * The reconciler (SYSTEM.md, "Reconciliation"): the `Reconcile` function, run every 5 minutes by an
 * `sst.aws.Cron` rule (EventBridge). It expires uploads that never arrived and re-sends (once) or
 * fails images whose processing stalled; see packages/core/src/usecases/reconcile.ts.
 *
 * - One run at a time is enough (reserved concurrency 1; two overlapping runs would be safe: every
 *   row is claimed `FOR UPDATE SKIP LOCKED`). A tick that finds the previous run still going is
 *   throttled and retried by EventBridge's asynchronous invocation, i.e. skipped in effect.
 * - Connections: 1 container × a pool of 1 (its statements run one after the other): the budget
 *   test counts it as reserved concurrency × `IMGPIPE_DB_POOL_SIZE`, beside the queue mappings.
 * - IAM: `sqs:SendMessage` on the three size queues (to re-send jobs) and the webhook queue (the
 *   webhooks of the images it makes terminal, and deliveries left undispatched), HEAD on the raw bucket's
 *   objects (an upload past its expiry may be stored after all), and reading the database password.
 */
import { databaseSecretPermission, startProcessingEnvironment, webhookSenderEnvironment } from "./environment"
import { lockedVersion } from "./functions"
import { CONNECTIONS, type Size, SIZES } from "./settings"

/** Handler path, `<file without extension>.<export>` (the test checks both exist). */
export const RECONCILE_HANDLER = "packages/functions/src/reconcile.handler"

export const RECONCILE = {
  /** SYSTEM.md: "Reconcile (scheduled, every 5 minutes)". */
  schedule: "rate(5 minutes)",
  reservedConcurrency: CONNECTIONS.reconcile.reservedConcurrency,
  /** `IMGPIPE_DB_POOL_SIZE`: one statement at a time. */
  dbPool: CONNECTIONS.reconcile.pool,
  /**
   * A run is two bounded steps of at most 500 rows each (RECONCILE_BATCH_LIMIT in core) and up to
   * 1500 re-sent jobs (150 SendMessageBatch calls): seconds. 120 s leaves room for a cold start in
   * the VPC and stays well inside the 5-minute period.
   */
  timeoutSeconds: 120,
  memory: "512 MB",
  /** The spec's defaults, set explicitly so a stage's values show in the config. */
  stallSeconds: 900,
  expireGraceSeconds: 86_400
} as const

export interface ReconcilerInput {
  readonly vpc: sst.aws.Vpc
  /** HEAD on the raw bucket: an upload past its expiry whose object is stored is started, not expired. */
  readonly raw: sst.aws.Bucket
  readonly processed: sst.aws.Bucket
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  readonly databaseUrl: $util.Input<string>
  readonly databaseSecretArn: $util.Input<string>
  /** The migration step: the reconciler's queries need the `expired` status and `stall_resends`. */
  readonly migration: $util.Resource
  /** `webhooks-<stage>` (webhooks.ts): expired and stalled images, and undispatched deliveries, are sent there. */
  readonly webhooks: sst.aws.Queue
}

export function reconciler(input: ReconcilerInput) {
  const { queues } = input
  const fn = new sst.aws.Function(
    "Reconcile",
    {
      handler: RECONCILE_HANDLER,
      runtime: "nodejs22.x",
      architecture: "x86_64",
      // RDS Proxy is reachable only inside the VPC.
      vpc: input.vpc,
      // The handler shares packages/functions/src/layers.ts with ProcessImage, whose bundle
      // reaches `import "sharp"`: installed for the function's platform, as in functions.ts.
      nodejs: { install: { sharp: lockedVersion("sharp") } },
      environment: {
        // The database, the three size queues and the shared settings: what StartProcessing gets.
        ...startProcessingEnvironment({
          databaseUrl: input.databaseUrl,
          databaseSecretArn: input.databaseSecretArn,
          queueUrls: { small: queues.small.url, medium: queues.medium.url, large: queues.large.url }
        }),
        // S3StorageLive reads both names; only the raw bucket is used (HEAD).
        IMGPIPE_RAW_BUCKET: input.raw.name,
        IMGPIPE_PROCESSED_BUCKET: input.processed.name,
        IMGPIPE_STALL_SECONDS: String(RECONCILE.stallSeconds),
        IMGPIPE_EXPIRE_GRACE_SECONDS: String(RECONCILE.expireGraceSeconds),
        IMGPIPE_DB_POOL_SIZE: String(RECONCILE.dbPool),
        ...webhookSenderEnvironment(input.webhooks.url)
      },
      description: "Every 5 minutes: expire uploads that never arrived, re-send or fail stalled processing",
      memory: RECONCILE.memory,
      timeout: `${RECONCILE.timeoutSeconds} seconds`,
      concurrency: { reserved: RECONCILE.reservedConcurrency },
      permissions: [
        { actions: ["sqs:SendMessage"], resources: SIZES.map((size) => queues[size].arn) },
        { actions: ["sqs:SendMessage"], resources: [input.webhooks.arn] },
        // HEAD an original (GetObject covers HEAD); ListBucket so a missing key is 404, not 403.
        { actions: ["s3:GetObject"], resources: [$interpolate`${input.raw.arn}/*`] },
        { actions: ["s3:ListBucket"], resources: [input.raw.arn] },
        databaseSecretPermission(input.databaseSecretArn)
      ]
    },
    { dependsOn: [input.migration] }
  )

  const cron = new sst.aws.Cron("Reconcile", {
    // `function` (SST ≥ 3.x; `job` is its deprecated name): an existing function, so its VPC,
    // permissions and reserved concurrency stay written out above.
    function: fn.arn,
    schedule: RECONCILE.schedule
  })

  return { reconcile: fn, cron }
}
