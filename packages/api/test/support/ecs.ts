/**
 * The ECS API as `makeApiLive` composes it (`makeHttpServer` over `ApiServices`: the SQL image
 * repository, S3 storage, settings), on a real Node server on a free port. Only the database
 * differs: the test provides it (`TestDatabase`: PGlite, or PostgreSQL with `TEST_DATABASE_URL`,
 * shared by the servers of a file) instead of `DATABASE_URL`. S3 presigning is local computation,
 * so fake credentials and no S3 suffice.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { TestDatabase } from "@imgpipe/core/test/support/database"
import { freePort } from "@imgpipe/core/util/net"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel } from "effect"
import { createServer, type Server } from "node:http"
import { type HttpServerOptions, makeHttpServer } from "../../src/Http.js"
import { ApiServices } from "../../src/layers.js"

export class EcsServer extends Context.Tag("test/EcsServer")<
  EcsServer,
  { readonly baseUrl: string; readonly server: Server; readonly logs: ReadonlyArray<string> }
>() {}

export const ecsEnv: Record<string, string> = {
  IMGPIPE_RAW_BUCKET: "raw-image-test",
  IMGPIPE_PROCESSED_BUCKET: "processed-image-test",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIDTEST",
  AWS_SECRET_ACCESS_KEY: "test-secret",
  // IMGPIPE_DELIVERY=cdn (the default) needs the CloudFront URL, which infra sets on the service.
  IMGPIPE_CDN_URL: "https://d111111abcdef8.cloudfront.net",
  // The admin API's queues (only its endpoints call SQS; nothing listens at these URLs here).
  IMGPIPE_QUEUE_SMALL_URL: "http://127.0.0.1:9/000000000000/process-small-test",
  IMGPIPE_QUEUE_MEDIUM_URL: "http://127.0.0.1:9/000000000000/process-medium-test",
  IMGPIPE_QUEUE_LARGE_URL: "http://127.0.0.1:9/000000000000/process-large-test"
}

/** The ECS server with `env` on top of `ecsEnv`; log lines (INFO and up) are collected in `logs`. */
export const makeEcsServer = (
  env: Record<string, string> = {},
  options: HttpServerOptions<never, never> = {}
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const server = createServer()
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations, message }) => {
          const parts = Array.isArray(message) ? message.map(String) : [String(message)]
          for (const [key, value] of annotations) parts.push(`${key}=${String(value)}`)
          logs.push(parts.join(" "))
        })
      )
      return makeHttpServer(options).pipe(
        Layer.provide(NodeHttpServer.layer(() => server, { port, host: "127.0.0.1" })),
        Layer.provide(ApiServices),
        Layer.merge(Layer.succeed(EcsServer, { baseUrl: `http://127.0.0.1:${port}`, server, logs })),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ ...ecsEnv, ...env }))))),
        Layer.provide(capture),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Info))
      )
    })
  )

export { TestDatabase }
