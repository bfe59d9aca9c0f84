/// <reference path="./.sst/platform/config.d.ts" />

/**
 * imgpipe on AWS: `npx sst deploy --stage test` / `--stage prod` (docs/deploy.md).
 *
 * This file only wires the components in packages/infra/ together and returns the outputs. The
 * component files are imported inside `run()`, as SST requires: `app()` is evaluated on its own,
 * before the providers and the globals they bring (`sst.aws.*`, `aws.*`) exist.
 */
/** What `app()` returns, spelled out so that a misspelled key is an error, not an ignored extra. */
type AppSettings = Awaited<ReturnType<Parameters<typeof $config>[0]["app"]>>

export default $config({
  app(input) {
    const prod = input?.stage === "prod"
    return {
      name: "imgpipe",
      home: "aws",
      // The CLI refuses to run this app with another version: the same SST as package.json.
      version: "4.17.1",
      // prod keeps its data (buckets, database) when a resource is removed, and `sst remove`
      // refuses to run on it at all; every other stage is disposable.
      removal: prod ? "retain" : "remove",
      protect: prod
    } satisfies AppSettings
  },
  async run() {
    const { network } = await import("./packages/infra/network")
    const { storage } = await import("./packages/infra/storage")
    const { queues } = await import("./packages/infra/queues")
    const { database } = await import("./packages/infra/database")
    const { functions } = await import("./packages/infra/functions")
    const { api } = await import("./packages/infra/api")
    const { monitoring } = await import("./packages/infra/monitoring")
    const { reconciler } = await import("./packages/infra/reconcile")
    const { webhookQueues, webhooks } = await import("./packages/infra/webhooks")

    const { vpc } = network()
    const { raw, processed, cdn } = storage()
    const { bySize, deadLetter, ingest, ingestDeadLetter } = queues()
    const db = database(vpc)
    const webhookQueue = webhookQueues()
    const lambdas = functions({
      vpc,
      raw,
      processed,
      queues: bySize,
      ingest,
      databaseUrl: db.databaseUrl,
      databaseSecretArn: db.databaseSecretArn,
      migration: db.migration,
      webhooks: webhookQueue.queue
    })
    const healing = reconciler({
      vpc,
      raw,
      processed,
      queues: bySize,
      databaseUrl: db.databaseUrl,
      databaseSecretArn: db.databaseSecretArn,
      migration: db.migration,
      webhooks: webhookQueue.queue
    })
    const delivery = webhooks(
      {
        vpc,
        databaseUrl: db.databaseUrl,
        databaseSecretArn: db.databaseSecretArn,
        fallbackKeySeed: db.postgres.password,
        migration: db.migration
      },
      webhookQueue
    )
    const http = api({
      vpc,
      raw,
      processed,
      queues: bySize,
      deadLetter,
      webhookQueues: webhookQueue,
      databaseUrl: db.databaseUrl,
      databaseSecretArn: db.databaseSecretArn,
      fallbackKeySeed: db.postgres.password,
      migration: db.migration,
      webhookSecret: delivery.secret.value,
      cdnUrl: cdn?.url
    })
    const alarms = monitoring({
      queues: bySize,
      deadLetter,
      ingest,
      ingestDeadLetter,
      startProcessing: lambdas.startProcessing,
      processImage: lambdas.processImage,
      reconcile: healing.reconcile,
      webhooks: webhookQueue.queue,
      webhooksDeadLetter: webhookQueue.deadLetter,
      deliverWebhook: delivery.deliverWebhook,
      postgres: db.postgres,
      service: http.service
    })

    // Flat keys, so scripts read them with `jq -r .apiUrl .sst/outputs.json`.
    return {
      apiUrl: http.service.url,
      rawBucket: raw.name,
      processedBucket: processed.name,
      // `IMGPIPE_DELIVERY=cdn`: where renditions are served (`<cdnUrl>/<image_id>/<size>[.webp|.avif]`).
      cdnUrl: cdn?.url,
      cdnDistributionId: cdn?.distribution.id,
      smallQueueName: bySize.small.nodes.queue.name,
      smallQueueUrl: bySize.small.url,
      mediumQueueName: bySize.medium.nodes.queue.name,
      mediumQueueUrl: bySize.medium.url,
      largeQueueName: bySize.large.nodes.queue.name,
      largeQueueUrl: bySize.large.url,
      deadLetterQueueName: deadLetter.nodes.queue.name,
      deadLetterQueueUrl: deadLetter.url,
      ingestQueueName: ingest.nodes.queue.name,
      ingestQueueUrl: ingest.url,
      ingestDeadLetterQueueUrl: ingestDeadLetter.url,
      webhookQueueName: webhookQueue.queue.nodes.queue.name,
      webhookQueueUrl: webhookQueue.queue.url,
      webhookDeadLetterQueueName: webhookQueue.deadLetter.nodes.queue.name,
      webhookDeadLetterQueueUrl: webhookQueue.deadLetter.url,
      deliverWebhookFunction: delivery.deliverWebhook.name,
      migrateFunction: db.migrate.name,
      reconcileFunction: healing.reconcile.name,
      databaseSecretArn: db.databaseSecretArn,
      alarmTopicArn: alarms.topic.arn,
      dashboardName: alarms.dashboard.dashboardName
    }
  }
})
