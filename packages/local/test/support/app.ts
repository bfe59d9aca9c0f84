/**
 * The embedded runner's layers assembled in-process on a fresh test database and data folder, so
 * a test can drive the HTTP API as a client would and still reach inside (run one size's job,
 * inspect the queue tables). Workers are opt-in: without them nothing is processed unless the test
 * does it, which is how the fallback branches are reached one by one.
 */
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { TestDatabase } from "@imgpipe/core/test/support/database"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EmbeddedServicesLive, ServerLive } from "../../src/layers.js"
import { WorkersLive } from "../../src/workers.js"
import { freePort } from "./runner.js"

export class TestServer extends Context.Tag("test/TestServer")<
  TestServer,
  { readonly baseUrl: string; readonly dataDir: string }
>() {}

export const makeTestApp = (options: { readonly env?: Record<string, string>; readonly workers?: boolean } = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "imgpipe-app-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const baseUrl = `http://127.0.0.1:${port}`
      const config = ConfigProvider.fromMap(
        new Map(Object.entries({ IMGPIPE_DATA_DIR: dataDir, IMGPIPE_PUBLIC_URL: baseUrl, ...options.env }))
      )
      const server = ServerLive.pipe(Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })))
      const app = options.workers ? Layer.mergeAll(server, WorkersLive) : server
      return app.pipe(
        Layer.provideMerge(EmbeddedServicesLive),
        Layer.provideMerge(Layer.mergeAll(TestDatabase, NodeContext.layer)),
        Layer.provideMerge(Layer.succeed(TestServer, { baseUrl, dataDir })),
        Layer.provide(Layer.setConfigProvider(config)),
        // Request logs drown test output; warnings and errors still show.
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
    })
  ).pipe(Layer.orDie)
