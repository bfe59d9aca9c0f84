/**
 * The Lambda functions' one choice of implementations: S3, SQS, PostgreSQL (through RDS Proxy),
 * sharp. Each function gets only what its use case needs, so StartProcessing needs no bucket names
 * and ProcessImage no queue URLs. The layers are built once per container (cold start) by
 * `LambdaHandler.make` and released when Lambda shuts the container down.
 *
 * `*Services` layers still need a database; tests give them theirs. `*Live` layers add PostgreSQL
 * at `DATABASE_URL`. DeliverWebhook's layers live in webhook-layers.ts (re-exported here), so that
 * its bundle leaves out sharp and S3.
 */
import {
  LogLevelLive,
  maxReceivesConfig,
  positiveIntegerConfig,
  ReconcileSettingsLive,
  SettingsLive
} from "@imgpipe/core"
import { S3StorageLive } from "@imgpipe/core/aws/S3Storage"
import { SqsQueueLive } from "@imgpipe/core/aws/SqsQueue"
import { SqsWebhookQueueLive } from "@imgpipe/core/aws/SqsWebhookQueue"
import { SharpConfigLive, SharpResizerLive } from "@imgpipe/core/resizer/SharpResizer"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { Config, Context, Layer } from "effect"
import { FunctionDatabaseLive } from "./database.js"

export { FunctionDatabaseLive } from "./database.js"
export { DeliverWebhookLive, DeliverWebhookServices } from "./webhook-layers.js"

// ---- settings only the handlers read ----------------------------------------------------------

export interface ProcessImageOptions {
  /** The queues' redrive `maxReceiveCount`: the delivery that reaches it is the last one. */
  readonly maxReceives: number
  /** Records of one batch processed at once (each holds a decoded image in memory). */
  readonly concurrency: number
}

export class ProcessImageSettings extends Context.Tag("imgpipe/functions/ProcessImageSettings")<
  ProcessImageSettings,
  ProcessImageOptions
>() {}

export const processImageConfig: Config.Config<ProcessImageOptions> = Config.all({
  maxReceives: maxReceivesConfig,
  concurrency: positiveIntegerConfig("IMGPIPE_BATCH_CONCURRENCY", 2)
})

export const ProcessImageSettingsLive = Layer.effect(ProcessImageSettings, processImageConfig)

// ---- per function -----------------------------------------------------------------------------

/**
 * What dispatching webhooks after a terminal transition needs (processImage, reconcile): the
 * delivery rows and the SQS webhook queue (`IMGPIPE_WEBHOOK_QUEUE_URL`). Its SQS client is the
 * same layer as the job queue's, so a function that has both builds one client.
 */
export const WebhookDispatchServices = Layer.mergeAll(WebhookDeliveriesSql, SqsWebhookQueueLive)

/** What `startProcessing` needs: image records, the SQS queues, settings. */
export const StartProcessingServices = Layer.mergeAll(ImageRepositorySql, SqsQueueLive, SettingsLive, LogLevelLive)

/** What `processImage` needs: image records, S3, sharp, settings, and the webhook dispatch (ready or failed). */
export const ProcessImageServices = Layer.mergeAll(
  ImageRepositorySql,
  S3StorageLive,
  SharpResizerLive,
  ProcessImageSettingsLive,
  WebhookDispatchServices,
  LogLevelLive
).pipe(Layer.provideMerge(Layer.mergeAll(SettingsLive, SharpConfigLive)))

/**
 * What `reconcile` needs: image records, the SQS queues (to re-send), the raw bucket (to HEAD an
 * upload before expiring it), settings and the stall windows, and the webhook dispatch (expired,
 * stalled for good, and deliveries left undispatched).
 */
export const ReconcileServices = Layer.mergeAll(
  ImageRepositorySql,
  SqsQueueLive,
  WebhookDispatchServices,
  S3StorageLive,
  SettingsLive,
  ReconcileSettingsLive,
  LogLevelLive
)

export const StartProcessingLive = StartProcessingServices.pipe(Layer.provide(FunctionDatabaseLive))

export const ProcessImageLive = ProcessImageServices.pipe(Layer.provide(FunctionDatabaseLive))

export const ReconcileLive = ReconcileServices.pipe(Layer.provide(FunctionDatabaseLive))
