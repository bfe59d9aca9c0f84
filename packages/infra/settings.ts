/**
 * Names and per-stage knobs of the AWS deployment, in one place so that a reviewer sees every
 * choice that differs between `test` and `prod` without reading the component files.
 *
 * This file uses no SST global: the topology test and `sst.config.ts` read the same values.
 */

/**
 * S3 bucket names are global across all AWS accounts. By default the names carry the account id
 * (`imgpipe-123456789012-raw-image-test`): unique per account, stable across deploys, nothing to
 * edit. A committed prefix here (`"acme-"`) overrides it; docs/deploy.md#bucket-names.
 */
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

/**
 * SQS names are unique per account and region, and one account may hold several stages, so the
 * stage is part of the physical name. It is a suffix, like the buckets' (`raw-image-<stage>`), so
 * the console sorts a stage's queues next to their peers: `process-small-image-test`.
 */
export const queueName = (size: Size, stage: string) => `process-${size}-image-${stage}`
export const deadLetterQueueName = (stage: string) => `process-image-dlq-${stage}`
/** The raw bucket's ObjectCreated notifications, consumed by StartProcessing, and their own DLQ. */
export const ingestQueueName = (stage: string) => `image-uploaded-${stage}`
export const ingestDeadLetterQueueName = (stage: string) => `image-uploaded-dlq-${stage}`

/**
 * StartProcessing, on the ingest queue (docs/decisions.md, "Ingest through a queue").
 *
 * - batch size 10: SQS's SendMessageBatch limit. One invocation marks up to 10 images in one
 *   statement and sends one full batch per size queue, the fewest requests per image there are
 *   (0.3 sends per image); a bigger batch would only save Lambda requests (10M/day ÷ 10 = 1M
 *   invocations, $0.20 a day) while a failed batch call would send more messages back at once.
 * - batch window 1 s: the mapping waits up to 1 s to fill a batch. At 10M a day (~116 uploads/s,
 *   ~350/s at the evening peak) batches fill in a fraction of that; at low traffic an upload
 *   waits at most 1 s longer to start, small beside the resize itself.
 * - timeout 30 s: one statement and three SQS batches take well under a second; 30 s leaves room
 *   for a slow cold start in the VPC and for the database's connect timeout, and keeps the
 *   ingest queue's visibility timeout (6 × timeout + window) at 3 minutes, so a failed batch is
 *   retried within minutes.
 * - memory 1024 MB (~0.6 vCPU): the work is I/O, the memory is for the cold start (loading the
 *   bundle takes ~1 s at a full CPU, docs/benchmarks.md).
 * - partial responses: only the messages whose uploads could not be started come back.
 */
export const START_PROCESSING = {
  memory: "1024 MB",
  timeoutSeconds: 30,
  batchSize: 10,
  batchWindowSeconds: 1
} as const

/**
 * ProcessImage, per size. Measured on the 20 MP test photo with one vCPU: ~70 ms small, ~110 ms
 * medium, ~270 ms large (decode dominates; JPEG shrink-on-load makes small cheaper).
 *
 * - memory 1769 MB: the point where Lambda gives one full vCPU, the setting the numbers above were
 *   measured at. CPU-bound work costs about the same GB-seconds at any memory below that (half
 *   the CPU, twice the time), so less memory would only add latency. More memory buys a second
 *   vCPU at the same price per image only if the work spreads over it; that wants a measurement
 *   on Lambda first. What fits in it is the decode budget's business (below).
 * - timeout 60 s: the worst batch, 10 messages each a 25 MiB, 50 MP PNG (no shrink-on-load,
 *   ~3 s decode + ~1 s of S3 I/O), still fits with headroom; a hung dependency is cut off well
 *   before the message becomes visible again.
 * - batch size: the largest batch that, even processed one image at a time, delays its last
 *   image by at most ~1.5 s (1500 ms / ms per image, at most 10): 10 small (0.7 s), 10 medium
 *   (1.1 s), 5 large (1.35 s). The handler's two-at-a-time (IMGPIPE_BATCH_CONCURRENCY) overlaps
 *   the S3 I/O. Bigger batches would save almost nothing: at $0.20 per million Lambda
 *   requests, the 30M messages a day would cost $6 a day even unbatched.
 * - batch window 1 s: at 10M images a day (~116 messages/s per queue) a batch fills in well
 *   under a second anyway; at low traffic (the test stage) it caps the wait for a batch at 1 s.
 * - partial responses: one bad message must not send its batch back to the queue.
 */
const PROCESS_IMAGE_MEMORY_MB = 1769

export const PROCESS_IMAGE = {
  memory: `${PROCESS_IMAGE_MEMORY_MB} MB`,
  /**
   * Memory: `bun run bench -- --only memory` measures each message class's peak and the decode
   * budget's estimate of it (docs/decisions.md, "Decode memory"). JPEG, PNG, TIFF and WebP peak
   * at 5–110 MiB; only AVIF (no shrink-on-load) is big: ~900 MiB for 49 MP at 8 bits, ~1.2 GiB at
   * 10 bits. The budget (memory − the 256 MiB baseline = 1513 MiB) takes any of those alone, and
   * queues a second large AVIF behind the first instead of holding both: on one vCPU two
   * CPU-bound decodes finish no sooner side by side than one after the other, so the queue costs
   * no throughput. Only an AVIF whose estimate exceeds the whole budget (10/12-bit with alpha near
   * 50 MP) is refused, `too_large_to_decode`.
   */
  decodeBudgetMib: PROCESS_IMAGE_MEMORY_MB - 256,
  /** Messages of a batch processed at once (each waits for its share of the decode budget). */
  batchConcurrency: 2,
  /**
   * glibc malloc: two arenas instead of up to 8 per core, and a fixed mmap threshold (128 KiB)
   * instead of one that grows with every large free. Then memory a decode freed goes back to the
   * system or to the next decode, whichever libuv thread runs it, instead of staying resident per
   * thread. Measured, six resizes in a row in one process, peak above baseline: 12 MP AVIF
   * 379 → 224 MiB (one resize alone: 208), RGBA PNG 139 → 90 MiB (alone: 85). With the arenas
   * capped sharp no longer defaults to one libvips thread, so that is set explicitly (one vCPU).
   */
  mallocArenaMax: 2,
  mallocMmapThresholdBytes: 131_072,
  sharpConcurrency: 1,
  timeoutSeconds: 60,
  batchWindowSeconds: 1,
  batchSize: { small: 10, medium: 10, large: 5 } satisfies Record<Size, number>
} as const

/**
 * AWS's rule for SQS event sources: visibility timeout ≥ 6 × the function timeout + the batch
 * window, so a message is not handed to a second consumer while the Lambda service is still
 * retrying a throttled or failed invocation of the first batch.
 */
export const QUEUE_VISIBILITY_SECONDS = 6 * PROCESS_IMAGE.timeoutSeconds + PROCESS_IMAGE.batchWindowSeconds

/** The same rule for the ingest queue and StartProcessing: 6 × 30 + 1 = 181 s. */
export const INGEST_VISIBILITY_SECONDS = 6 * START_PROCESSING.timeoutSeconds + START_PROCESSING.batchWindowSeconds

/**
 * SQS maxReceiveCount in AWS: 5, AWS's guidance for Lambda triggers (a throttled invocation still
 * counts a receive). The embedded runner keeps the spec's 3. docs/deploy.md#connection-budget.
 */
export const MAX_RECEIVES = 5

/**
 * Message retention, every queue (size queues, ingest queue, both DLQs): 14 days, SQS's maximum
 * (the default is 4). A job or an upload's notification must not expire unseen while a function
 * is broken over a long weekend (S3's direct asynchronous invocation kept an event 6 hours at
 * most), and a dead letter keeps its original enqueue time, so a DLQ needs at least its source
 * queue's retention.
 */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600

/** Settings the spec lets an operator change; the defaults are the spec's. */
export const LIMITS = {
  maxUploadBytes: 26_214_400,
  maxPixels: 50_000_000,
  /** The spec keeps originals by default; `false` deletes them once all renditions exist. */
  keepOriginals: true
} as const

/**
 * A custom domain per stage (hosted in Route 53) puts the API behind HTTPS, with HTTP redirected.
 * Without one the load balancer's own name answers on plain HTTP: fine for `test`, but set one
 * for `prod`, or bearer keys cross the internet in clear text.
 */
export const API_DOMAINS: Readonly<Record<string, string>> = {}

/** The API's container port (`PORT`); the load balancer listens on 80 and forwards here. */
export const API_PORT = 3000

export const isProd = (stage: string) => stage === "prod"

/**
 * Everything sized per stage. `test` is small but complete (the same components, so the load test
 * exercises the real topology); `prod` is sized for 10M images a day, see docs/deploy.md.
 */
export const stageSizing = (stage: string) =>
  isProd(stage)
    ? ({
        // ~5 commits per image (insert, processing per batch, original, 3 renditions + ready):
        // ~600/s on average at 10M images a day, 3× at the peak: 4 vCPUs with headroom. Storage
        // (docs/deploy.md#database-storage-and-retention): rows grow ~9.3 GB a day (measured);
        // 400 GiB allocated is where gp3 gives 12,000 IOPS instead of 3,000 (the peak needs
        // ~3,000–4,000); `storage` is autoscaling's ceiling, ~13 months of rows.
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
        // Containers at once: the evening peak (3× average) with room; docs/deploy.md#connection-budget.
        // StartProcessing's is its ingest mapping's maximumConcurrency (~35 batches/s at the peak,
        // ~0.1 s each: a few containers; 50 absorbs a backlog drained after an outage).
        lambdas: { startProcessing: 50, processImage: { small: 100, medium: 100, large: 200 } },
        // A NAT gateway per AZ: fck-nat on a nano instance is a single point of failure with
        // limited bandwidth. Image bytes never cross it (S3 has a gateway endpoint).
        nat: "managed",
        bastion: false
      } as const)
    : ({
        // SST's 20 GB to start; the ceiling lets a day of full-rate load testing (~10 GB) fit. The
        // alarm sits under autoscaling's trigger (10 % free = 2 GB at 20 GB).
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
        lambdas: { startProcessing: 5, processImage: { small: 2, medium: 2, large: 2 } },
        // fck-nat: ~$6 a month instead of ~$65; it also serves as the bastion for `sst dev`.
        nat: "ec2",
        bastion: true
      } as const)

/**
 * Auto scaling targets for the API. Requests per target per minute: the API answers from
 * PostgreSQL and signs URLs locally (no S3 round trip), a few ms of CPU each, so one task does
 * several hundred requests a second; 3000 a minute (50/s) leaves room for bursts while the next
 * task starts (~1 min). CPU 60 % catches anything the request count misses (slow queries, GC).
 */
export const API_SCALING = { cpuUtilization: 60, requestCount: 3000 } as const

/**
 * The connection budget (docs/deploy.md#connection-budget): every pool that may be open at once
 * must fit in what RDS Proxy may open on the instance, with headroom. The topology test checks it.
 */
export const CONNECTIONS = {
  /** Memory per instance class, GiB (https://aws.amazon.com/rds/instance-types/). */
  instanceMemoryGib: { "t4g.micro": 1, "m7g.xlarge": 16 } as Readonly<Record<string, number>>,
  /** Share of the class's memory RDS leaves to PostgreSQL (DBInstanceClassMemory), counted low. */
  usableMemoryShare: 0.85,
  /** RDS Proxy's MaxConnectionsPercent: the rest is for a person on the bastion and RDS itself. */
  proxyMaxConnectionsPercent: 90,
  /** Connections per Lambda container (`IMGPIPE_DB_POOL_SIZE`): a batch runs two at a time. */
  functionPool: 2,
  /**
   * The Reconcile function (reconcile.ts): one container at a time (reserved concurrency), one
   * connection (its statements run one after the other).
   */
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
  const demand = containers * CONNECTIONS.functionPool + reconcile + api.max * api.dbPool + CONNECTIONS.other
  const proxy = Math.floor((rdsMaxConnections(database.instance) * CONNECTIONS.proxyMaxConnectionsPercent) / 100)
  return { demand, proxy, allowed: Math.floor(proxy * CONNECTIONS.headroom) }
}

/** Alarm thresholds (docs/deploy.md#alarms-and-dashboard). */
export const ALARMS = {
  /** Age of the oldest message in a size queue, seconds. */
  oldestMessageSeconds: 300,
  /**
   * Age of the oldest upload notification on the ingest queue, seconds: normally ~1 s (the batch
   * window). Five minutes means StartProcessing is failing or capped, and uploads wait unstarted.
   */
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
