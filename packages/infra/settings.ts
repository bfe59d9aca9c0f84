/**
 * Names and per-stage knobs of the AWS deployment, one line per choice; why each number is what it
 * is: docs/deploy.md#sizing. No SST global here: the topology test and `sst.config.ts` read the same values.
 */

/** Overrides the default account-id prefix of the bucket names (`"acme-"`); docs/deploy.md#bucket-names. */
export const BUCKET_PREFIX: string | undefined = undefined

/** The default prefix, from the deploying account's id (`aws.getCallerIdentity`). */
export const accountBucketPrefix = (app: string, accountId: string) => `${app}-${accountId}-`

/** S3's rule: 3–63 lowercase letters, digits and hyphens, starting and ending with a letter or digit. */
const validBucketName = (name: string): string => {
  if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) return name
  throw new Error(
    `bucket name ${name} is not a valid S3 name (3–63 lowercase letters, digits, hyphens): use a shorter ` +
      "stage name, or set a shorter BUCKET_PREFIX in packages/infra/settings.ts"
  )
}

/** The spec's bucket names: `<prefix>raw-image-<stage>`, `<prefix>processed-image-<stage>`. */
export const bucketNames = (stage: string, prefix: string) => ({
  raw: validBucketName(`${prefix}raw-image-${stage}`),
  processed: validBucketName(`${prefix}processed-image-${stage}`)
})

export const SIZES = ["small", "medium", "large"] as const
export type Size = (typeof SIZES)[number]

/** For component (logical) names: `ProcessSmallImage`, `ProcessImageSmall`, … */
export const SIZE_TITLE: Readonly<Record<Size, string>> = { small: "Small", medium: "Medium", large: "Large" }

/** The stage as a suffix, like the buckets': `process-small-image-test`; docs/deploy.md#queues. */
export const queueName = (size: Size, stage: string) => `process-${size}-image-${stage}`
export const deadLetterQueueName = (stage: string) => `process-image-dlq-${stage}`
/** The raw bucket's ObjectCreated notifications, consumed by StartProcessing, and their own DLQ. */
export const ingestQueueName = (stage: string) => `image-uploaded-${stage}`
export const ingestDeadLetterQueueName = (stage: string) => `image-uploaded-dlq-${stage}`
/** Webhook deliveries (issue 12), consumed by DeliverWebhook, and the deliveries that gave up after 24 h. */
export const webhookQueueName = (stage: string) => `webhooks-${stage}`
export const webhookDeadLetterQueueName = (stage: string) => `webhooks-dlq-${stage}`

/** StartProcessing on the ingest queue, partial batch responses: docs/deploy.md#startprocessing. */
export const START_PROCESSING = {
  /** ~0.6 vCPU: the work is I/O; the memory is for the cold start. */
  memory: "1024 MB",
  /** Room for a slow VPC cold start and the database's connect timeout; keeps the visibility timeout at 3 min. */
  timeoutSeconds: 30,
  /** SQS's SendMessageBatch limit: one full batch per size queue. */
  batchSize: 10,
  batchWindowSeconds: 1
} as const

/**
 * DeliverWebhook on the webhooks queue, partial batch responses (webhooks.ts; the AWS notes of
 * docs/webhooks.md). A delivery is one HTTPS POST and two small statements: I/O only.
 */
export const DELIVER_WEBHOOK = {
  /** The least memory whose CPU share keeps TLS handshakes and the cold start quick. */
  memory: "512 MB",
  /** `IMGPIPE_WEBHOOK_TIMEOUT_SECONDS`: one request, connection to last byte (core's default). */
  httpTimeoutSeconds: 10,
  /**
   * The records of a batch are delivered at once, so one slow receiver costs one HTTP timeout,
   * plus a cold start in the VPC and the database's connect timeout: 3 × the HTTP timeout.
   */
  timeoutSeconds: 30,
  /** Records of one invocation, delivered concurrently (SQS's maximum). */
  batchSize: 10,
  /** No batching window: a ready image's webhook leaves at once. */
  batchWindowSeconds: 0,
  /** `IMGPIPE_DB_POOL_SIZE`: the statements are short; the HTTP waits hold no connection. */
  dbPool: 2,
  /** `IMGPIPE_WEBHOOK_RETRY_BASE_SECONDS`, the spec's default, set explicitly so a stage shows it. */
  retryBaseSeconds: 10,
  /**
   * The redrive policy's maxReceiveCount, a safety net only: each attempt (and each 900 s hop of a
   * longer backoff) is a new message, and the handler moves a delivery that gave up after 24 h to
   * the DLQ itself. A message reaches 5 receives only when its handling failed every time
   * (database down, a crash): 5 × the visibility timeout (15 minutes), then the DLQ.
   */
  maxReceives: 5
} as const

/** Where Lambda gives one full vCPU: docs/deploy.md#processimage. */
const PROCESS_IMAGE_MEMORY_MB = 1769

/** ProcessImage per size, partial batch responses: docs/deploy.md#processimage. */
export const PROCESS_IMAGE = {
  memory: `${PROCESS_IMAGE_MEMORY_MB} MB`,
  /** The memory less the 256 MiB baseline; a second large AVIF waits for the first. */
  decodeBudgetMib: PROCESS_IMAGE_MEMORY_MB - 256,
  /** Messages of a batch processed at once (each waits for its share of the decode budget). */
  batchConcurrency: 2,
  /** glibc malloc: two arenas and a fixed 128 KiB mmap threshold, so freed decode memory is reused. */
  mallocArenaMax: 2,
  mallocMmapThresholdBytes: 131_072,
  /** One libvips thread on one vCPU (no longer sharp's default once the arenas are capped). */
  sharpConcurrency: 1,
  /** The worst batch (10 × 50 MP PNG) with headroom. */
  timeoutSeconds: 60,
  batchWindowSeconds: 1,
  /** The largest batch that delays its last image by at most ~1.5 s. */
  batchSize: { small: 10, medium: 10, large: 5 } satisfies Record<Size, number>
} as const

/** AWS's rule for SQS event sources: ≥ 6 × the function timeout + the batch window; docs/deploy.md#queues. */
export const QUEUE_VISIBILITY_SECONDS = 6 * PROCESS_IMAGE.timeoutSeconds + PROCESS_IMAGE.batchWindowSeconds

/** The same rule for the ingest queue and StartProcessing: 6 × 30 + 1 = 181 s. */
export const INGEST_VISIBILITY_SECONDS = 6 * START_PROCESSING.timeoutSeconds + START_PROCESSING.batchWindowSeconds

/** The same rule for the webhooks queue: 6 × 30 + 0 = 180 s. */
export const WEBHOOK_VISIBILITY_SECONDS = 6 * DELIVER_WEBHOOK.timeoutSeconds + DELIVER_WEBHOOK.batchWindowSeconds

/** SQS maxReceiveCount in AWS (the embedded runner keeps the spec's 3); docs/deploy.md#queues. */
export const MAX_RECEIVES = 5

/** Message retention of every queue and DLQ: SQS's maximum, 14 days; docs/deploy.md#queues. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600

/** Settings the spec lets an operator change; the defaults are the spec's. */
export const LIMITS = {
  maxUploadBytes: 26_214_400,
  maxPixels: 50_000_000,
  /** The spec keeps originals by default; `false` deletes them once all renditions exist. */
  keepOriginals: true
} as const

/** Extra encodings `IMGPIPE_FORMATS` may name (core's EXTRA_FORMATS), made for every size beside the baseline. */
export type ExtraFormat = "webp" | "avif"

/** CloudFront price classes: which edge locations serve viewers (and at which per-GB prices). */
export type PriceClass = "PriceClass_100" | "PriceClass_200" | "PriceClass_All"

/**
 * How a stage delivers renditions (SYSTEM.md "Delivery"; docs/deploy.md#delivery):
 * - `mode`: `IMGPIPE_DELIVERY`. `cdn` puts the CloudFront distribution of cdn.ts in front of the
 *   processed bucket and gives the API its URL as `IMGPIPE_CDN_URL`; `signed` creates no
 *   distribution (it would make every rendition public, which is what `signed` is chosen to avoid)
 *   and keeps the presigned GETs.
 * - `formats`: `IMGPIPE_FORMATS`, the extras ProcessImage encodes beside the baseline; `[]` is the
 *   baseline only, `["webp", "avif"]` adds AVIF (~1 s more CPU per large rendition; docs/deploy.md#processimage).
 * - `priceClass`: the distribution's edge locations. `PriceClass_100` (North America, Europe,
 *   Israel) is the cheapest per GB; `PriceClass_All` serves every region from a nearby edge, at
 *   that region's price.
 */
export interface StageDelivery {
  readonly mode: "cdn" | "signed"
  readonly formats: ReadonlyArray<ExtraFormat>
  readonly priceClass: PriceClass
}

export const stageDelivery = (stage: string): StageDelivery =>
  isProd(stage)
    ? { mode: "cdn", formats: ["webp"], priceClass: "PriceClass_All" }
    : { mode: "cdn", formats: ["webp"], priceClass: "PriceClass_100" }

/** A Route 53 domain per stage puts the API behind HTTPS; required for `prod`: docs/deploy.md#deploy-prod. */
export const API_DOMAINS: Readonly<Record<string, string>> = {}

/**
 * The stage-wide webhook receiver (`IMGPIPE_WEBHOOK_URL`, https) per stage, e.g.
 * `{ prod: "https://hooks.example.com/imgpipe" }`; a stage without one sends webhooks only to the
 * uploads' own `callback_url`s.
 */
export const WEBHOOK_URLS: Readonly<Record<string, string>> = {}

/** The API's container port (`PORT`); the load balancer listens on 80 and forwards here. */
export const API_PORT = 3000

export const isProd = (stage: string) => stage === "prod"

/** Everything per stage: `test` small but complete, `prod` for 10M images a day; docs/deploy.md#per-stage-sizing. */
export const stageSizing = (stage: string) =>
  isProd(stage)
    ? ({
      // ~600 commits/s on average, 3× at the peak; 400 GiB for gp3's 12,000 IOPS; ceiling ~13 months of rows.
      database: {
        instance: "m7g.xlarge",
        allocatedGib: 400,
        storage: "4 TB",
        multiAz: true,
        freeStorageAlarmGb: 30,
        backupRetentionDays: 14,
        protect: true
      },
      api: { cpu: "1 vCPU", memory: "2 GB", min: 2, max: 20, spot: false, dbPool: 10 },
      // Containers at once: the evening peak with room; docs/deploy.md#connection-budget.
      // DeliverWebhook: 25 × 10 deliveries in flight, ~1,000/s at 250 ms a receiver (peak: ~350/s).
      lambdas: { startProcessing: 50, processImage: { small: 100, medium: 100, large: 200 }, deliverWebhook: 25 },
      // A NAT gateway per AZ, not a single fck-nat instance.
      nat: "managed",
      bastion: false
    } as const)
    : ({
      // SST's 20 GB; the ceiling fits a day of full-rate load testing.
      database: {
        instance: "t4g.micro",
        allocatedGib: 20,
        storage: "100 GB",
        multiAz: false,
        freeStorageAlarmGb: 1,
        backupRetentionDays: 7,
        protect: false
      },
      // Fargate Spot is ~70 % cheaper, and an interrupted test task is harmless.
      api: { cpu: "0.5 vCPU", memory: "1 GB", min: 1, max: 4, spot: true, dbPool: 5 },
      // AWS's minimum maximumConcurrency is 2.
      lambdas: { startProcessing: 5, processImage: { small: 2, medium: 2, large: 2 }, deliverWebhook: 2 },
      // fck-nat (~$6 a month instead of ~$65), also the bastion for `sst dev`.
      nat: "ec2",
      bastion: true
    } as const)

/** API auto scaling targets: CPU %, requests per target per minute; docs/deploy.md#api-scaling. */
export const API_SCALING = { cpuUtilization: 60, requestCount: 3000 } as const

/** Every pool open at once must fit in what RDS Proxy may open, with headroom: docs/deploy.md#connection-budget. */
export const CONNECTIONS = {
  /** Memory per instance class, GiB (https://aws.amazon.com/rds/instance-types/). */
  instanceMemoryGib: { "t4g.micro": 1, "m7g.xlarge": 16 } as Readonly<Record<string, number>>,
  /** Share of the class's memory RDS leaves to PostgreSQL (DBInstanceClassMemory), counted low. */
  usableMemoryShare: 0.85,
  /** RDS Proxy's MaxConnectionsPercent: the rest is for a person on the bastion and RDS itself. */
  proxyMaxConnectionsPercent: 90,
  /** Connections per Lambda container (`IMGPIPE_DB_POOL_SIZE`): a batch runs two at a time. */
  functionPool: 2,
  /** Reconcile (reconcile.ts): one container at a time, one connection. */
  reconcile: { reservedConcurrency: 1, pool: 1 },
  /** Migrate (one, at deploy), a person on the bastion, spare. */
  other: 10,
  /** The budget may use at most this share of what the proxy may open. */
  headroom: 0.85
} as const

/**
 * RDS for PostgreSQL's default max_connections: LEAST(DBInstanceClassMemory / 9531392, 5000)
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
 */
export const rdsMaxConnections = (instance: string): number => {
  const gib = CONNECTIONS.instanceMemoryGib[instance]
  if (gib === undefined) throw new Error(`settings.ts CONNECTIONS.instanceMemoryGib: add the memory of ${instance}`)
  return Math.min(Math.floor((gib * 2 ** 30 * CONNECTIONS.usableMemoryShare) / 9_531_392), 5000)
}

/** What the stage's pools may open at most, and what the proxy allows them (with headroom). */
export const connectionBudget = (stage: string) => {
  const { database, api, lambdas } = stageSizing(stage)
  const containers = lambdas.startProcessing + SIZES.reduce((sum, size) => sum + lambdas.processImage[size], 0)
  const reconcile = CONNECTIONS.reconcile.reservedConcurrency * CONNECTIONS.reconcile.pool
  const webhooks = lambdas.deliverWebhook * DELIVER_WEBHOOK.dbPool
  const demand = containers * CONNECTIONS.functionPool + reconcile + webhooks + api.max * api.dbPool +
    CONNECTIONS.other
  const proxy = Math.floor((rdsMaxConnections(database.instance) * CONNECTIONS.proxyMaxConnectionsPercent) / 100)
  return { demand, proxy, allowed: Math.floor(proxy * CONNECTIONS.headroom) }
}

/** Alarm thresholds (docs/deploy.md#alarms-and-dashboard). */
export const ALARMS = {
  /** Age of the oldest message in a size queue, seconds. */
  oldestMessageSeconds: 300,
  /** Age of the oldest upload notification on the ingest queue, seconds (normally ~1 s). */
  ingestOldestMessageSeconds: 300,
  /** Lambda: failed invocations per function in 5 minutes (a crash, not a refused image). */
  lambdaErrorsPer5Minutes: 5,
  /** API: share of requests answered 5xx, percent, over 5 minutes. */
  api5xxPercent: 1,
  /** API: p99 of the targets' response time, seconds. */
  apiP99Seconds: 1,
  /** RDS CPU, percent, over 15 minutes. */
  databaseCpuPercent: 80,
  /** RDS or proxy connections, percent of their maximum. */
  connectionsPercent: 80
} as const
