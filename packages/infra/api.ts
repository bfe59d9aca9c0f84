/**
 * The HTTP API: a Fargate service built from packages/api/Dockerfile behind an Application Load
 * Balancer, autoscaled on CPU and request count.
 */
import { createHmac } from "node:crypto"
import { apiEnvironment, databaseSecretPermission } from "./environment"
import { API_DOMAINS, API_PORT, API_SCALING, isProd, type Size, SIZES, stageSizing } from "./settings"

export interface ApiInput {
  readonly vpc: sst.aws.Vpc
  readonly raw: sst.aws.Bucket
  readonly processed: sst.aws.Bucket
  /** The size queues (the admin API's reprocessing sends to them) and their dead-letter queue (redrive). */
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  readonly deadLetter: sst.aws.Queue
  /** The webhook queue and its own dead-letter queue (webhooks.ts): statistics and redrive. */
  readonly webhookQueues: { readonly queue: sst.aws.Queue; readonly deadLetter: sst.aws.Queue }
  /** `DATABASE_URL` without a password, and the secret the task reads the password from. */
  readonly databaseUrl: $util.Input<string>
  readonly databaseSecretArn: $util.Input<string>
  /**
   * A value nobody outside the account knows (the generated database password), from which a
   * stage other than prod derives its fallback API key. It goes into no environment variable.
   */
  readonly fallbackKeySeed: $util.Input<string>
  /** The migration step: the new image never starts against an old schema. */
  readonly migration: $util.Resource
  /** `IMGPIPE_WEBHOOK_SECRET` (webhooks.ts): with it `POST /upload` accepts a `callback_url`. */
  readonly webhookSecret?: $util.Input<string>
  /**
   * The distribution in front of the processed bucket (cdn.ts, made by storage.ts when the stage
   * delivers with `cdn`): its URL becomes `IMGPIPE_CDN_URL`. Absent: `IMGPIPE_DELIVERY=signed`.
   */
  readonly cdnUrl?: $util.Input<string>
}

export const DOCKERFILE = "packages/api/Dockerfile"
export const DEV_COMMAND = "npx tsx watch packages/api/src/main.ts"

const containerPort = `${API_PORT}/http` as const

export function api(input: ApiInput) {
  const { raw, processed } = input
  const sizing = stageSizing($app.stage)
  const domain = API_DOMAINS[$app.stage]
  // Bearer keys must never cross the internet in clear text: prod only behind HTTPS.
  if (isProd($app.stage) && domain === undefined) {
    throw new Error(
      `stage ${$app.stage} has no domain, and would serve the API over plain HTTP. Add it to API_DOMAINS in ` +
        `packages/infra/settings.ts ({ ${$app.stage}: "api.example.com" }, a Route 53 hosted zone in this ` +
        "account) and deploy again; docs/deploy.md#deploy-prod."
    )
  }

  // `IMGPIPE_API_KEYS`, comma-separated: `sst secret set ApiKeys "k1,k2" --stage <stage>`. prod has
  // no fallback: a prod stage whose keys were never set fails to deploy. Other stages (a personal
  // `sst dev` stage before anyone set a key) fall back to a key nobody knows, derived from the
  // stage's generated database password: stable across deploys, and the API stays closed (an
  // empty value would open it) until `sst secret set` gives it a key someone has.
  const fallbackKey = isProd($app.stage)
    ? undefined
    : $resolve([input.fallbackKeySeed]).apply(([seed]) =>
      createHmac("sha256", seed).update("ApiKeys fallback").digest("hex")
    )
  const apiKeys = new sst.Secret("ApiKeys", fallbackKey)

  // `IMGPIPE_ADMIN_KEYS`: `sst secret set AdminKeys "k1,k2" --stage <stage>`. Until it is set, on
  // every stage prod included, a key nobody knows (derived like the ApiKeys fallback): the admin API
  // and `/metrics` stay closed (401) rather than open, and SSM refuses an empty parameter anyway.
  const adminKeys = new sst.Secret(
    "AdminKeys",
    $resolve([input.fallbackKeySeed]).apply(([seed]) =>
      createHmac("sha256", seed).update("AdminKeys fallback").digest("hex")
    )
  )
  const queueArns = SIZES.map((size) => input.queues[size].arn)

  const env = apiEnvironment({
    databaseUrl: input.databaseUrl,
    databaseSecretArn: input.databaseSecretArn,
    rawBucket: raw.name,
    processedBucket: processed.name,
    apiKeys: apiKeys.value,
    adminKeys: adminKeys.value,
    queueUrls: { small: input.queues.small.url, medium: input.queues.medium.url, large: input.queues.large.url },
    webhookQueueUrl: input.webhookQueues.queue.url,
    dbPool: sizing.api.dbPool,
    webhookSecret: input.webhookSecret,
    delivery: input.cdnUrl === undefined ? { mode: "signed" } : { mode: "cdn", cdnUrl: input.cdnUrl },
    stage: $app.stage
  })

  // The secret values go to ECS as SecureString parameters that the agent resolves at task start
  // (the execution role SST creates may read them), so they never appear in the task definition.
  // Under `sst dev` there is no task: the local process gets them as plain variables.
  // (Options below are written as `key: value | undefined`, never as spread-in objects, so that
  // the type-check still catches a misspelled key.)
  const parameters = $dev
    ? undefined
    : Object.entries(env.secrets).map(
      ([variable, value]) =>
        [
          variable,
          new aws.ssm.Parameter(`Api${variable}`, {
            name: `/${$app.name}/${$app.stage}/api/${variable}`,
            type: "SecureString",
            value
          })
        ] as const
    )
  const ssm = parameters && Object.fromEntries(parameters.map(([variable, parameter]) => [variable, parameter.arn]))
  // ECS reads the parameters only when a task starts, and a task definition that names the same
  // parameters does not change when their values do: without this, `sst secret set ApiKeys …`
  // and a deploy would leave the running tasks on the old keys. Each parameter's version goes up
  // with its value; a new version triggers a rolling deployment.
  const rollOnSecretChange: sst.aws.ServiceArgs["transform"] = parameters && {
    service: {
      forceNewDeployment: true,
      triggers: { secrets: $resolve(parameters.map(([, parameter]) => parameter.version)).apply((v) => v.join(".")) }
    }
  }

  const cluster = new sst.aws.Cluster("Cluster", { vpc: input.vpc })

  const service = new sst.aws.Service(
    "Api",
    {
      cluster,
      // Build context: the repository root (the image needs the workspace's lockfile and
      // packages); the Dockerfile path is relative to it.
      image: { context: ".", dockerfile: DOCKERFILE },
      architecture: "x86_64",
      cpu: sizing.api.cpu,
      memory: sizing.api.memory,
      environment: $dev ? { ...env.plain, ...env.secrets } : env.plain,
      ssm,
      permissions: [
        // A presigned URL carries the signer's authority: the task role must be allowed to PUT
        // originals for the upload URLs to work, and to GET both buckets for `get_image`.
        { actions: ["s3:PutObject"], resources: [$interpolate`${raw.arn}/*`] },
        { actions: ["s3:GetObject"], resources: [$interpolate`${raw.arn}/*`, $interpolate`${processed.arn}/*`] },
        // HEAD on a missing key answers 404 (not 403) only with ListBucket.
        { actions: ["s3:ListBucket"], resources: [raw.arn, processed.arn] },
        // The database password, read once when a task starts (the URL in its environment has none).
        databaseSecretPermission(input.databaseSecretArn),
        // The admin API: reprocessing sends jobs; the statistics read each queue's counts and, through
        // the size queues' redrive policy, find the dead-letter queue.
        { actions: ["sqs:SendMessage", "sqs:GetQueueAttributes"], resources: queueArns },
        // The webhook queue: its counts and redrive policy; the move task sends back into it.
        { actions: ["sqs:SendMessage", "sqs:GetQueueAttributes"], resources: [input.webhookQueues.queue.arn] },
        // The redrive: SQS's message move task from the dead-letter queue back to each message's
        // source queue runs with the caller's rights (receive and delete there, send to the source).
        {
          actions: [
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:StartMessageMoveTask",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage"
          ],
          resources: [input.deadLetter.arn, input.webhookQueues.deadLetter.arn]
        }
      ],
      loadBalancer: {
        domain,
        rules: domain
          ? [
            { listen: "80/http", redirect: "443/https" },
            { listen: "443/https", forward: containerPort }
          ]
          : [{ listen: "80/http", forward: containerPort }],
        health: {
          // Liveness only: `/ready` checks the database, and a database hiccup must not make the
          // load balancer kill every task at once.
          [containerPort]: {
            path: "/health",
            interval: "10 seconds",
            timeout: "5 seconds",
            healthyThreshold: 2,
            unhealthyThreshold: 3
          }
        }
      },
      scaling: {
        min: sizing.api.min,
        max: sizing.api.max,
        cpuUtilization: API_SCALING.cpuUtilization,
        requestCount: API_SCALING.requestCount,
        // Node's heap grows to its limit and stays there; memory says nothing about load.
        memoryUtilization: false
      },
      capacity: sizing.api.spot ? "spot" : undefined,
      // A deploy waits until the new tasks pass the health check, so a broken image fails it.
      wait: true,
      transform: rollOnSecretChange,
      dev: {
        // `sst dev` runs the API on this machine with the same variables (and the task role's
        // permissions), reloading on change, instead of deploying the container.
        command: DEV_COMMAND,
        url: `http://localhost:${API_PORT}`
      }
    },
    { dependsOn: [input.migration] }
  )

  return { service, cluster, apiKeys, adminKeys }
}
