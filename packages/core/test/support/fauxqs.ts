/**
 * fauxqs (S3 + SQS emulator) in the test process, on a free loopback port, with the buckets and
 * queues a test asks for, and a `ConfigProvider` holding the variables that point the AWS layers
 * at it. `configure` can add Fastify hooks before the server listens (e.g. to change responses).
 *
 * Also: a middleware that counts the requests an SDK client really sends (presigning runs the
 * same middleware stack but stops before signing, so it is not counted), and records inputs.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import type { DeserializeMiddleware } from "@smithy/types"
import { ConfigProvider, Effect, type Scope } from "effect"
import type { FastifyInstance } from "fastify"
import { buildApp } from "fauxqs"

export const TEST_KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" } as const
export const TEST_REGION = "us-east-1"

export interface Fauxqs {
  readonly endpoint: string
  readonly s3: S3Client
  readonly sqs: SQSClient
  readonly queueUrls: Readonly<Record<string, string>>
  /** AWS_* variables for the emulator; add the imgpipe ones with `configProvider`. */
  readonly env: Readonly<Record<string, string>>
  readonly configProvider: (extra: Readonly<Record<string, string>>) => ConfigProvider.ConfigProvider
}

export const startFauxqs = (options: {
  readonly buckets: ReadonlyArray<string>
  readonly queues: ReadonlyArray<{ readonly name: string; readonly attributes?: Record<string, string> }>
  readonly configure?: (app: FastifyInstance) => void
}): Effect.Effect<Fauxqs, never, Scope.Scope> =>
  Effect.gen(function* () {
    const app = buildApp({ logger: false, defaultRegion: TEST_REGION })
    options.configure?.(app as unknown as FastifyInstance)
    const address = yield* Effect.acquireRelease(
      Effect.promise(() => app.listen({ port: 0, host: "127.0.0.1" })),
      () => Effect.promise(() => app.close())
    )
    const endpoint = String(address).replace(/\/$/, "")
    const clientConfig = { region: TEST_REGION, endpoint, credentials: TEST_KEYS }
    const s3 = yield* Effect.acquireRelease(
      Effect.sync(() => new S3Client({ ...clientConfig, forcePathStyle: true })),
      (c) => Effect.sync(() => c.destroy())
    )
    const sqs = yield* Effect.acquireRelease(Effect.sync(() => new SQSClient(clientConfig)), (c) =>
      Effect.sync(() => c.destroy()))
    for (const bucket of options.buckets) {
      yield* Effect.promise(() =>
        s3.send(new CreateBucketCommand({ Bucket: bucket }))
      )
    }
    const queueUrls: Record<string, string> = {}
    for (const queue of options.queues) {
      const out = yield* Effect.promise(() =>
        sqs.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: queue.attributes ?? {} }))
      )
      queueUrls[queue.name] = out.QueueUrl ?? ""
    }
    const env = {
      AWS_REGION: TEST_REGION,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: TEST_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_KEYS.secretAccessKey
    }
    return {
      endpoint,
      s3,
      sqs,
      queueUrls,
      env,
      configProvider: (extra) => ConfigProvider.fromMap(new Map(Object.entries({ ...env, ...extra })))
    }
  })

/**
 * Every message body on a queue, parsed, without deleting them (a long visibility timeout keeps each
 * one seen once).
 */
export const receiveBodies = (sqs: SQSClient, queueUrl: string) =>
  Effect.gen(function* () {
    const bodies: Array<unknown> = []
    for (;;) {
      const out = yield* Effect.promise(() =>
        sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 600,
            WaitTimeSeconds: 0
          })
        )
      )
      const messages = out.Messages ?? []
      if (messages.length === 0) return bodies
      bodies.push(...messages.map((m) => JSON.parse(m.Body ?? "null")))
    }
  })

/** One request an SDK client sent: `S3Client.GetObjectCommand` and its input. */
export interface SentRequest {
  readonly command: string
  readonly input: Readonly<Record<string, unknown>>
}

export interface RequestLog {
  readonly sent: Array<SentRequest>
  /** `{ "S3Client.PutObjectCommand": 3, … }` */
  readonly counts: () => Record<string, number>
  readonly clear: () => void
}

/**
 * Records every request the given clients send. The deserialize step runs once per HTTP attempt
 * (retries included, which is what AWS bills) and never for presigning.
 */
export const logRequests = (clients: ReadonlyArray<S3Client | SQSClient>, log?: RequestLog): RequestLog => {
  const sent: Array<SentRequest> = log?.sent ?? []
  const out: RequestLog = log ?? {
    sent,
    counts: () => {
      const counts: Record<string, number> = {}
      for (const request of sent) counts[request.command] = (counts[request.command] ?? 0) + 1
      return counts
    },
    clear: () => {
      sent.length = 0
    }
  }
  const record =
    <Input extends object, Output extends object>(): DeserializeMiddleware<Input, Output> =>
    (next, context) =>
    (args) => {
      sent.push({
        command: `${context.clientName ?? "Client"}.${context.commandName ?? "Command"}`,
        input: Object.fromEntries(Object.entries(args.input))
      })
      return next(args)
    }
  const options = { step: "deserialize", name: "imgpipeTestRequestLog", override: true } as const
  for (const client of clients) {
    if (client instanceof S3Client) client.middlewareStack.add(record(), options)
    else client.middlewareStack.add(record(), options)
  }
  return out
}
