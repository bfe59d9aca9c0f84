/**
 * The environment each runtime gets: exactly the variables of the spec's table
 * (../../shared/spec/SYSTEM.md, "Entry points and configuration"), filled from the resources.
 *
 * The handlers read these through Effect `Config`, never SST's `Resource`, so nothing is linked
 * with `link:` (a link would also grant `s3:*` / `sqs:*`); each function's IAM permissions are
 * listed next to it instead, see functions.ts and api.ts.
 *
 * Each function gets what its layers read (packages/functions/src/layers.ts builds one layer per
 * handler): StartProcessing no bucket names, ProcessImage no queue URLs.
 * `AWS_REGION` is set by Lambda and ECS themselves; `AWS_ENDPOINT_URL`, `IMGPIPE_PUBLIC_URL` and
 * `IMGPIPE_DATA_DIR` belong to emulators and the embedded mode and are left unset.
 */
import { API_PORT, type ExtraFormat, LIMITS, MAX_RECEIVES, type Size, stageDelivery, WEBHOOK_URLS } from "./settings"

type Env = Record<string, $util.Input<string>>

export interface RuntimeResources {
  /** `DATABASE_URL` without a password: user, RDS Proxy host, port, database, `sslmode`. */
  readonly databaseUrl: $util.Input<string>
  /** The Secrets Manager secret whose JSON `password` the runtime reads once at cold start. */
  readonly databaseSecretArn: $util.Input<string>
  readonly rawBucket: $util.Input<string>
  readonly processedBucket: $util.Input<string>
  readonly queueUrls: Readonly<Record<Size, $util.Input<string>>>
}

/** `IMGPIPE_FORMATS` as core reads it: a comma list, or `none` for the baseline only. */
export const formatsValue = (formats: ReadonlyArray<ExtraFormat>): string =>
  formats.length === 0 ? "none" : formats.join(",")

/**
 * What every runtime's `Settings` layer reads; explicit so a stage's values show in the config.
 * `IMGPIPE_FORMATS` (settings.ts `stageDelivery`) matters to ProcessImage, which encodes the
 * extras, but every runtime gets the same value so that none reads a different default.
 */
const settingsEnv = (): Env => ({
  IMGPIPE_MAX_UPLOAD_BYTES: String(LIMITS.maxUploadBytes),
  IMGPIPE_MAX_PIXELS: String(LIMITS.maxPixels),
  IMGPIPE_KEEP_ORIGINALS: String(LIMITS.keepOriginals),
  IMGPIPE_FORMATS: formatsValue(stageDelivery($app.stage).formats)
})

/**
 * OpenTelemetry, off unless the deploy turns it on: `OTEL_EXPORTER_OTLP_ENDPOINT` (and
 * `OTEL_EXPORTER_OTLP_HEADERS`, e.g. a vendor's API key) in the environment of `sst deploy` reach
 * every runtime, which then exports its spans there over OTLP/HTTP (docs/operations.md#tracing).
 * Unset, no variable is added and no runtime has a tracer.
 */
export const tracingEnvironment = (): Env =>
  Object.fromEntries(
    (["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"] as const).flatMap((name) => {
      const value = process.env[name]
      return value === undefined || value === "" ? [] : [[name, value]]
    })
  )

/**
 * How a runtime reaches PostgreSQL without the master password in any variable: the URL names
 * everything but the password, and core's client layer (packages/core/src/sql/databaseSecret.ts)
 * reads the password from the secret when the layer is built, keeping it `Redacted`.
 */
export const databaseEnvironment = (r: Pick<RuntimeResources, "databaseUrl" | "databaseSecretArn">): Env => ({
  DATABASE_URL: r.databaseUrl,
  IMGPIPE_DATABASE_SECRET_ARN: r.databaseSecretArn
})

/**
 * The one permission reading the password needs: `GetSecretValue` on exactly that secret (it is
 * encrypted with the account's `aws/secretsmanager` key, which needs no `kms:Decrypt` grant).
 */
export const databaseSecretPermission = (secretArn: $util.Input<string>) => ({
  actions: ["secretsmanager:GetSecretValue"],
  resources: [secretArn]
})

/** StartProcessing: marks the image and sends one job per size. */
export const startProcessingEnvironment = (r: Omit<RuntimeResources, "rawBucket" | "processedBucket">): Env => ({
  ...databaseEnvironment(r),
  IMGPIPE_QUEUE_SMALL_URL: r.queueUrls.small,
  IMGPIPE_QUEUE_MEDIUM_URL: r.queueUrls.medium,
  IMGPIPE_QUEUE_LARGE_URL: r.queueUrls.large,
  ...settingsEnv(),
  ...tracingEnvironment()
})

/** ProcessImage: reads the original, writes the rendition. */
export const processImageEnvironment = (r: Omit<RuntimeResources, "queueUrls">): Env => ({
  ...databaseEnvironment(r),
  IMGPIPE_RAW_BUCKET: r.rawBucket,
  IMGPIPE_PROCESSED_BUCKET: r.processedBucket,
  // Not in the spec's table: the handler records a transient failure on the image when a
  // delivery is the last one, so it must know the queue's maxReceiveCount. Set from the value the
  // queues are created with, so the two cannot drift apart.
  IMGPIPE_MAX_RECEIVES: String(MAX_RECEIVES),
  ...settingsEnv(),
  ...tracingEnvironment()
})

/**
 * The ECS API: the size queues' and the webhook queue's URLs for the admin API only (reprocessing,
 * statistics, redrive; uploads never send jobs: the S3 notification starts processing).
 * `secrets` are the values that must not sit in the task definition in clear text; api.ts hands
 * them to ECS as SSM SecureString references (and, under `sst dev`, as plain variables to the
 * local process, which has no ECS to resolve them). The database URL is not one of them: it has
 * no password (the task reads that from Secrets Manager, like the functions).
 */
export const apiEnvironment = (
  r: RuntimeResources & {
    readonly apiKeys: $util.Input<string>
    /** `IMGPIPE_ADMIN_KEYS`: the admin API's bearer keys (api.ts). */
    readonly adminKeys: $util.Input<string>
    /** The webhook queue, for the admin API's statistics and redrive (the API sends no webhooks). */
    readonly webhookQueueUrl: $util.Input<string>
    readonly dbPool: number
    /**
     * `IMGPIPE_DELIVERY`, and with `cdn` the distribution's `https://<domain>` as `IMGPIPE_CDN_URL`
     * (cdn.ts): `get_image` redirects to `${IMGPIPE_CDN_URL}/<key>` for renditions.
     */
    readonly delivery: { readonly mode: "signed" } | { readonly mode: "cdn"; readonly cdnUrl: $util.Input<string> }
    /** `IMGPIPE_WEBHOOK_SECRET` (webhooks.ts): `POST /upload` refuses a `callback_url` while webhooks are off. */
    readonly webhookSecret?: $util.Input<string>
    readonly stage?: string
  }
): { readonly plain: Env; readonly secrets: Env } => ({
  plain: {
    ...databaseEnvironment(r),
    IMGPIPE_RAW_BUCKET: r.rawBucket,
    IMGPIPE_PROCESSED_BUCKET: r.processedBucket,
    PORT: String(API_PORT),
    // The admin API sends reprocessing jobs and reads the queues (their redrive policy names the DLQ).
    IMGPIPE_QUEUE_SMALL_URL: r.queueUrls.small,
    IMGPIPE_QUEUE_MEDIUM_URL: r.queueUrls.medium,
    IMGPIPE_QUEUE_LARGE_URL: r.queueUrls.large,
    IMGPIPE_WEBHOOK_QUEUE_URL: r.webhookQueueUrl,
    // Connections per task, as counted in the connection budget (settings.ts CONNECTIONS).
    IMGPIPE_DB_POOL_SIZE: String(r.dbPool),
    IMGPIPE_DELIVERY: r.delivery.mode,
    ...(r.delivery.mode === "cdn" ? { IMGPIPE_CDN_URL: r.delivery.cdnUrl } : {}),
    ...settingsEnv(),
    ...tracingEnvironment(),
    // The stage-wide receiver (an upload without a callback_url gets webhooks there), when set.
    ...(r.stage !== undefined && WEBHOOK_URLS[r.stage] !== undefined
      ? { IMGPIPE_WEBHOOK_URL: WEBHOOK_URLS[r.stage] }
      : {})
  },
  secrets: {
    IMGPIPE_API_KEYS: r.apiKeys,
    IMGPIPE_ADMIN_KEYS: r.adminKeys,
    ...(r.webhookSecret !== undefined ? { IMGPIPE_WEBHOOK_SECRET: r.webhookSecret } : {})
  }
})

/**
 * What a function that dispatches webhooks adds (a terminal status: ProcessImage, Reconcile): the webhook queue's URL. The receiver is already on the image (`POST /upload` stored
 * its `callback_url`, or the stage-wide `IMGPIPE_WEBHOOK_URL`, which only the API reads); webhooks.ts
 * explains the queue.
 */
export const webhookSenderEnvironment = (queueUrl: $util.Input<string>): Env => ({
  IMGPIPE_WEBHOOK_QUEUE_URL: queueUrl
})
