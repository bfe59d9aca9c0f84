/**
 * `bun run start:aws-local`: imgpipe's AWS code paths on this machine, no cloud and no Docker.
 *
 * - fauxqs serves S3 and SQS in this process (`emulator.ts`): the raw and processed buckets, the
 *   three size queues with a redrive policy to one dead-letter queue after 3 receives, and the
 *   ingest queue `image-uploaded-<stage>` (with its own dead-letter queue) that receives the raw
 *   bucket's ObjectCreated notifications.
 * - PostgreSQL at `DATABASE_URL`, or an in-memory PGlite served on a loopback port; migrations are
 *   applied first, as the deploy step (`bun run migrate`) does in AWS.
 * - The Lambda handlers are the exported `handler`s of `start-processing.ts` and `process-image.ts`,
 *   configured by environment variables only and invoked by the event-source emulator
 *   (`event-sources.ts`) as SQS event source mappings invoke them: StartProcessing with batches of
 *   the ingest queue, ProcessImage with batches of each size queue, DeliverWebhook
 *   (`deliver-webhook.ts`) with batches of `webhooks-<stage>`. `reconcile.ts`'s handler runs
 *   every `IMGPIPE_RECONCILE_EVERY_SECONDS` (300) with a scheduled event, as the `Reconcile` cron
 *   invokes it in AWS (`schedule.ts`).
 * - The API is the ECS entry (`packages/api/src/main.ts`) in a child process, with environment
 *   variables only.
 * - Delivery: with `IMGPIPE_DELIVERY=cdn` (the default) the emulator lets anonymous GETs read the
 *   processed bucket, standing in for the CloudFront distribution, and `IMGPIPE_CDN_URL` is its
 *   path-style URL (`http://127.0.0.1:4566/processed-image-local`) unless it is set already;
 *   `get_image` then redirects to `<that>/<image_id>/<size>[.webp|.avif]`. `IMGPIPE_DELIVERY`
 *   and `IMGPIPE_FORMATS` reach the handlers and the API as they are set.
 *
 * Settings: `PORT` (API, 3000), `FAUXQS_PORT` (S3/SQS endpoint, 4566), `IMGPIPE_STAGE` (names,
 * `local`), `IMGPIPE_VISIBILITY_TIMEOUT_SECONDS` (30), `IMGPIPE_SQS_BATCH_SIZE` (10),
 * `IMGPIPE_SQS_WAIT_SECONDS` (20), `IMGPIPE_FUNCTION_TIMEOUT_SECONDS` (60), `DATABASE_URL`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import {
  cdnUrlConfig,
  deliveryModeConfig,
  portConfig,
  reconcileEveryConfig,
  visibilityTimeoutSecondsConfig
} from "@imgpipe/core"
import { databaseUrlConfig } from "@imgpipe/core/sql/client"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { Config, Duration, Effect, Option, Redacted, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"
import { servePglite } from "./database.js"
import { EmulatorError, makeAwsEmulator, stageNames } from "./emulator.js"
import { runIngestEventSource, runS3Notifications, runSqsEventSources, runWebhookEventSource } from "./event-sources.js"
import { runSchedule } from "./schedule.js"

const config = Config.all({
  apiPort: portConfig,
  awsPort: Config.integer("FAUXQS_PORT").pipe(Config.withDefault(4566)),
  stage: Config.string("IMGPIPE_STAGE").pipe(
    Config.withDefault("local"),
    Config.validate({
      message: "IMGPIPE_STAGE must be lower-case letters, digits or -",
      validation: (s) => /^[a-z0-9-]{1,20}$/.test(s)
    })
  ),
  region: Config.string("AWS_REGION").pipe(Config.withDefault("us-east-1")),
  visibilityTimeoutSeconds: visibilityTimeoutSecondsConfig(30),
  batchSize: Config.integer("IMGPIPE_SQS_BATCH_SIZE").pipe(
    Config.withDefault(10),
    Config.validate({ message: "IMGPIPE_SQS_BATCH_SIZE must be 1–10", validation: (n) => n >= 1 && n <= 10 })
  ),
  waitTimeSeconds: Config.integer("IMGPIPE_SQS_WAIT_SECONDS").pipe(
    Config.withDefault(20),
    Config.validate({ message: "IMGPIPE_SQS_WAIT_SECONDS must be 0–20", validation: (n) => n >= 0 && n <= 20 })
  ),
  functionTimeoutSeconds: Config.integer("IMGPIPE_FUNCTION_TIMEOUT_SECONDS").pipe(Config.withDefault(60)),
  databaseUrl: databaseUrlConfig,
  delivery: deliveryModeConfig,
  cdnUrl: cdnUrlConfig
})

/** The emulator accepts only these keys; they exist nowhere but on this machine. */
const LOCAL_KEYS = { accessKeyId: "imgpipe-local", secretAccessKey: "imgpipe-local-secret" }

const root = resolve(import.meta.dirname, "../../../..")
const apiEntry = resolve(root, "packages/api/src/main.ts")

/** Applies the migrations, as the deploy step does before the API and functions start. */
const migrate = (url: Redacted.Redacted<string>) =>
  runMigrations.pipe(Effect.provide(PgClient.layer({ url, maxConnections: 1 })))

/**
 * The API entry in a child process started the way this one was (same Node, same TypeScript
 * loader), with `env` added. Stopped with SIGTERM — its graceful path — when the scope closes.
 */
const spawnApi = (env: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [...process.execArgv, apiEntry], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ["ignore", "inherit", "inherit"]
      })
      // The handlers' Lambda runtime ends this process with `process.exit` on SIGINT/SIGTERM;
      // the API must not outlive it.
      process.once("exit", () => child.kill("SIGTERM"))
      return child
    }),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      }).pipe(Effect.timeout("15 seconds"), Effect.ignore)
  )

const exited = (child: ChildProcess) =>
  Effect.async<never, EmulatorError>((resume) => {
    child.once("exit", (code, signal) =>
      resume(Effect.fail(new EmulatorError({ message: `the API process exited (${signal ?? `code ${code}`})` }))))
  })

const waitUntilHealthy = (url: string) =>
  Effect.tryPromise(() => fetch(url).then((r) => (r.ok ? undefined : Promise.reject(new Error(String(r.status))))))
    .pipe(
      Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo(Duration.seconds(60)))),
      Effect.mapError(() => new EmulatorError({ message: `the API did not answer ${url} within 60 s` }))
    )

const main = Effect.gen(function* () {
  const settings = yield* config
  const names = stageNames(settings.stage)

  const databaseUrl = yield* Option.match(settings.databaseUrl, {
    onSome: (url) => Effect.as(Effect.logInfo("database: PostgreSQL (DATABASE_URL)"), url),
    onNone: () => Effect.tap(servePglite, () => Effect.logInfo("database: in-memory PGlite on a loopback port"))
  })
  const applied = yield* migrate(databaseUrl)
  yield* Effect.logInfo(`migrations: ${applied.length} applied`)

  const emulator = yield* makeAwsEmulator({
    port: settings.awsPort,
    region: settings.region,
    keys: LOCAL_KEYS,
    ...names,
    visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
    maxReceiveCount: 3,
    // CloudFront's reads of the processed bucket; `signed` keeps both buckets closed, as in AWS.
    anonymousRenditionReads: settings.delivery === "cdn"
  })

  // Everything below is configured by environment variables only, as in AWS. An IMGPIPE_CDN_URL of
  // one's own (a proxy in front of the emulator, say) is kept.
  const env: Record<string, string> = {
    ...emulator.env,
    ...Option.match(settings.cdnUrl, { onNone: () => ({}), onSome: (url) => ({ IMGPIPE_CDN_URL: url }) }),
    DATABASE_URL: Redacted.value(databaseUrl)
  }
  Object.assign(process.env, env)
  const startProcessing = yield* Effect.promise(() => import("../start-processing.js"))
  const processImage = yield* Effect.promise(() => import("../process-image.js"))

  const timeoutMs = settings.functionTimeoutSeconds * 1000
  const mapping = { batchSize: settings.batchSize, waitTimeSeconds: settings.waitTimeSeconds, timeoutMs }
  yield* Effect.forkScoped(runS3Notifications(emulator).pipe(Effect.annotateLogs({ source: "s3-notifications" })))
  yield* runIngestEventSource(emulator, startProcessing.handler, mapping)
  yield* runSqsEventSources(emulator, processImage.handler, mapping)
  const deliverWebhook = yield* Effect.promise(() => import("../deliver-webhook.js"))
  yield* runWebhookEventSource(emulator, deliverWebhook.handler, mapping)
  const reconcile = yield* Effect.promise(() => import("../reconcile.js"))
  yield* runSchedule(reconcile.handler, {
    functionName: "Reconcile",
    region: settings.region,
    every: yield* reconcileEveryConfig,
    timeoutMs
  })

  const child = yield* spawnApi({ ...env, PORT: String(settings.apiPort) })
  const api = `http://localhost:${settings.apiPort}`
  yield* waitUntilHealthy(`${api}/health`)
  yield* Effect.logInfo("imgpipe on local AWS is up").pipe(
    Effect.annotateLogs({
      api,
      docs: `${api}/docs`,
      aws_endpoint: emulator.endpoint,
      raw_bucket: emulator.buckets.raw,
      processed_bucket: emulator.buckets.processed,
      delivery: settings.delivery,
      cdn_url: env["IMGPIPE_CDN_URL"] ?? "none (signed URLs)",
      dead_letter_queue: emulator.deadLetterQueue.url,
      ingest_queue: emulator.ingestQueue.url,
      ingest_dead_letter_queue: emulator.ingestDeadLetterQueue.url,
      webhook_queue: emulator.webhookQueue.url,
      webhook_dead_letter_queue: emulator.webhookDeadLetterQueue.url
    })
  )
  return yield* exited(child)
}).pipe(Effect.scoped)

NodeRuntime.runMain(main)
