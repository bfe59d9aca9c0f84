/**
 * The Lambda functions: StartProcessing subscribed to the ingest queue (the raw bucket's
 * ObjectCreated notifications), and ProcessImage subscribed to each size queue.
 *
 * IAM is least privilege and written out per function (no `link:`, which grants `s3:*`/`sqs:*`).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import {
  databaseSecretPermission,
  processImageEnvironment,
  startProcessingEnvironment,
  webhookSenderEnvironment
} from "./environment"
import { ingestQueuePolicy } from "./queues"
import {
  CONNECTIONS,
  LIMITS,
  PROCESS_IMAGE,
  type Size,
  SIZE_TITLE,
  SIZES,
  stageSizing,
  START_PROCESSING
} from "./settings"

/** Handler paths, `<file without extension>.<export>` (the topology test checks both exist). */
export const HANDLERS = {
  startProcessing: "packages/functions/src/start-processing.handler",
  processImage: "packages/functions/src/process-image.handler"
} as const

/**
 * The version of a package as installed from bun.lockb. SST installs `nodejs.install` packages
 * with npm into the function package, and without a version it would take whatever is newest:
 * pinning it to the lockfile's keeps the Lambdas on the sharp the tests ran.
 */
export const lockedVersion = (name: string): string => {
  const manifest: unknown = JSON.parse(
    readFileSync(join($cli.paths.root, "node_modules", name, "package.json"), "utf8")
  )
  const version = manifest !== null && typeof manifest === "object" && "version" in manifest
    ? manifest.version
    : undefined
  if (typeof version !== "string") throw new Error(`no installed version of ${name}: run bun install`)
  return version
}

/** What an SQS event source mapping does with the function's role: receive, delete, extend, read attributes. */
const SQS_CONSUMER_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes"
]

export interface FunctionsInput {
  readonly vpc: sst.aws.Vpc
  readonly raw: sst.aws.Bucket
  readonly processed: sst.aws.Bucket
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  /** The raw bucket's notifications (queues.ts), consumed by StartProcessing. */
  readonly ingest: sst.aws.Queue
  readonly databaseUrl: $util.Input<string>
  /** The secret the functions read the database password from at cold start. */
  readonly databaseSecretArn: $util.Input<string>
  /** The migration step: new handler code never runs against an old schema. */
  readonly migration: $util.Resource
  /** `webhooks-<stage>` (webhooks.ts): a terminal status dispatches its webhook deliveries there. */
  readonly webhooks: sst.aws.Queue
}

export function functions(input: FunctionsInput) {
  const { raw, processed, queues } = input
  const { lambdas } = stageSizing($app.stage)
  // The pool each container opens, as counted in the connection budget (settings.ts CONNECTIONS).
  const pool = { IMGPIPE_DB_POOL_SIZE: String(CONNECTIONS.functionPool) }
  const objectsIn = (bucket: sst.aws.Bucket) => $interpolate`${bucket.arn}/*`
  // ProcessImage makes an image terminal (ready, or failed for good) and then dispatches its
  // webhook deliveries (webhooks.ts); StartProcessing never does.
  const webhookEnv = webhookSenderEnvironment(input.webhooks.url)
  const sendWebhooks = { actions: ["sqs:SendMessage"], resources: [input.webhooks.arn] }

  const common = {
    runtime: "nodejs22.x",
    // sharp's prebuilt libvips is installed for linux-x64 (below); the ECS image matches.
    architecture: "x86_64",
    // Both handlers reach PostgreSQL through RDS Proxy, which is only reachable inside the VPC.
    vpc: input.vpc,
    nodejs: {
      // sharp is a native addon: esbuild cannot bundle it, so SST installs it into the function
      // package with npm for the function's platform (linux, x64, glibc). StartProcessing never
      // resizes, but the handlers share packages/functions/src/layers.ts, and a bundle that
      // reaches `import "sharp"` without the addon would fail at cold start.
      install: { sharp: lockedVersion("sharp") }
    }
  } satisfies Partial<sst.aws.FunctionArgs>

  const startProcessing = new sst.aws.Function(
    "StartProcessing",
    {
      ...common,
      handler: HANDLERS.startProcessing,
      environment: {
        ...startProcessingEnvironment({
          databaseUrl: input.databaseUrl,
          databaseSecretArn: input.databaseSecretArn,
          queueUrls: { small: queues.small.url, medium: queues.medium.url, large: queues.large.url }
        }),
        ...pool
      },
      description: "Uploads (the ingest queue's S3 notifications) → mark processing, one job per size",
      // settings.ts START_PROCESSING: the batch, its window, the timeout and memory, and why.
      memory: START_PROCESSING.memory,
      timeout: `${START_PROCESSING.timeoutSeconds} seconds`,
      // No `retries` (they apply to asynchronous invocations only) and no reserved concurrency:
      // the ingest queue's mapping caps the containers (below), and a reserved concurrency under
      // that cap would only throttle invocations, each of which counts a receive.
      permissions: [
        { actions: ["sqs:SendMessage"], resources: SIZES.map((size) => queues[size].arn) },
        // What the ingest queue's event source mapping does on the function's behalf.
        { actions: SQS_CONSUMER_ACTIONS, resources: [input.ingest.arn] },
        databaseSecretPermission(input.databaseSecretArn)
      ]
    },
    { dependsOn: [input.migration] }
  )

  // S3 → the ingest queue, for every way an object is created (presigned PUT today, multipart or
  // copy tomorrow). A BucketNotification of our own instead of `raw.notify({ queue })`, whose
  // queue policy has no source condition (queues.ts); S3 checks it may send when the
  // configuration is saved (it posts an s3:TestEvent), so the policy comes first.
  const policy = ingestQueuePolicy(input.ingest, raw)
  new aws.s3.BucketNotification(
    "RawObjectCreated",
    {
      bucket: raw.name,
      queues: [{ id: "StartProcessing", queueArn: input.ingest.arn, events: ["s3:ObjectCreated:*"] }]
    },
    { dependsOn: [policy] }
  )
  input.ingest.subscribe(startProcessing.arn, {
    batch: {
      size: START_PROCESSING.batchSize,
      window: `${START_PROCESSING.batchWindowSeconds} seconds`,
      // The handler answers `{ batchItemFailures }`: only the messages it could not start come back.
      partialResponses: true
    },
    transform: {
      // Its share of the connection budget, as ProcessImage's: the queue holds the rest.
      eventSourceMapping: { scalingConfig: { maximumConcurrency: lambdas.startProcessing } }
    }
  })

  // Only when originals are dropped once processed (IMGPIPE_KEEP_ORIGINALS=false). Typed, so
  // that the type-check sees into the conditional.
  const deleteOriginals: Array<sst.aws.FunctionPermissionArgs> = LIMITS.keepOriginals
    ? []
    : [{ actions: ["s3:DeleteObject"], resources: [objectsIn(raw)] }]

  const processImage = (size: Size) => {
    const queue = queues[size]
    const fn = new sst.aws.Function(
      `ProcessImage${SIZE_TITLE[size]}`,
      {
        ...common,
        handler: HANDLERS.processImage,
        environment: {
          ...processImageEnvironment({
            databaseUrl: input.databaseUrl,
            databaseSecretArn: input.databaseSecretArn,
            rawBucket: raw.name,
            processedBucket: processed.name
          }),
          // Memory per container (settings.ts, PROCESS_IMAGE): the decode budget, the batch
          // concurrency it is sized with, and the allocator and libvips settings it was measured at.
          IMGPIPE_DECODE_MEMORY_BUDGET_MB: String(PROCESS_IMAGE.decodeBudgetMib),
          IMGPIPE_BATCH_CONCURRENCY: String(PROCESS_IMAGE.batchConcurrency),
          IMGPIPE_SHARP_CONCURRENCY: String(PROCESS_IMAGE.sharpConcurrency),
          MALLOC_ARENA_MAX: String(PROCESS_IMAGE.mallocArenaMax),
          MALLOC_MMAP_THRESHOLD_: String(PROCESS_IMAGE.mallocMmapThresholdBytes),
          ...webhookEnv,
          ...pool
        },
        description: `Resizes to ${size}: process-${size}-image → processed bucket`,
        memory: PROCESS_IMAGE.memory,
        timeout: `${PROCESS_IMAGE.timeoutSeconds} seconds`,
        permissions: [
          // What the SQS event source mapping does on the function's behalf.
          { actions: SQS_CONSUMER_ACTIONS, resources: [queue.arn] },
          // Read the original (GetObject also covers HEAD), and the renditions of an earlier
          // upload with the same bytes: CopyObject reads its source with the caller's rights.
          { actions: ["s3:GetObject"], resources: [objectsIn(raw), objectsIn(processed)] },
          // Tags a refused or dead-lettered original (imgpipe-disposition), which the raw
          // bucket's lifecycle then expires (storage.ts); a redriven job that succeeds removes
          // the tag again, so a ready image never loses a kept original.
          { actions: ["s3:PutObjectTagging", "s3:DeleteObjectTagging"], resources: [objectsIn(raw)] },
          databaseSecretPermission(input.databaseSecretArn),
          // Without ListBucket, S3 answers a missing key with 403 instead of 404, and a missing
          // original (or a duplicate's vanished rendition, which falls back to a resize) would
          // look like a permissions failure.
          { actions: ["s3:ListBucket"], resources: [raw.arn, processed.arn] },
          { actions: ["s3:PutObject"], resources: [objectsIn(processed)] },
          sendWebhooks,
          ...deleteOriginals
        ]
      },
      { dependsOn: [input.migration] }
    )
    queue.subscribe(fn.arn, {
      batch: {
        size: PROCESS_IMAGE.batchSize[size],
        window: `${PROCESS_IMAGE.batchWindowSeconds} seconds`,
        // The handler answers `{ batchItemFailures }`: only the failed messages come back.
        partialResponses: true
      },
      transform: {
        // At most this many containers at once: the queue holds the rest, and no invocation is
        // throttled (a throttled one would still count a receive). Its share of the connection budget.
        eventSourceMapping: { scalingConfig: { maximumConcurrency: lambdas.processImage[size] } }
      }
    })
    return fn
  }

  const processImageBySize: Record<Size, sst.aws.Function> = {
    small: processImage("small"),
    medium: processImage("medium"),
    large: processImage("large")
  }

  return { startProcessing, processImage: processImageBySize }
}
