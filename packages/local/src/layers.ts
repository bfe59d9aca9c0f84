/**
 * The embedded runner's one choice of implementations: PGlite (or `DATABASE_URL`), the local disk
 * behind signed URLs, PostgreSQL-table queues, sharp. Everything above these layers — the use cases,
 * the HTTP API, the workers — is the same code the AWS runtimes run.
 */
import { HttpApiBuilder, HttpMiddleware, HttpRouter, HttpServerResponse } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { makeHttpServer } from "@imgpipe/api/Http"
import { SettingsLive, startProcessing } from "@imgpipe/core"
import { DiskStorageLive, makeStorageRouter } from "@imgpipe/core/local/DiskStorage"
import { LocalQueueLive } from "@imgpipe/core/local/PgQueue"
import { SharpConfigLive, SharpResizerLive } from "@imgpipe/core/resizer/SharpResizer"
import { DatabaseLive } from "@imgpipe/core/sql/client"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { Config, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { indexHtml } from "./page.js"
import { WorkersLive } from "./workers.js"

/** The core services on their embedded implementations, plus the database they share. */
export const CoreLive = Layer.mergeAll(ImageRepositorySql, LocalQueueLive, DiskStorageLive, SharpResizerLive).pipe(
  Layer.provideMerge(Layer.mergeAll(SettingsLive, SharpConfigLive)),
  Layer.provideMerge(DatabaseLive),
  Layer.provideMerge(NodeContext.layer)
)

/**
 * The local storage routes (signed PUT/GET) and the upload page, on the API's own server. The PUT
 * route plays S3's ObjectCreated notification: it runs `startProcessing` once the object is stored.
 * Signed URLs are bearer links, so these routes stay out of the request log.
 */
const ExtraRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Layer.Layer.Success<typeof CoreLive>>()
    const storage = makeStorageRouter((event) => startProcessing({ key: event.key, bytes: event.bytes })).pipe(
      HttpRouter.use((app) => HttpMiddleware.withLoggerDisabled(Effect.provide(app, context)))
    )
    yield* router.concat(storage)
    yield* router.get("/", HttpServerResponse.html(indexHtml))
  })
)

export const portConfig = Config.integer("PORT").pipe(Config.withDefault(3000))

export const HttpLive = makeHttpServer({ routes: ExtraRoutes }).pipe(
  Layer.provide(NodeHttpServer.layerConfig(createServer, { port: portConfig }))
)

/** API, storage routes and the three queue workers, over the core services. */
export const AppLive = Layer.mergeAll(HttpLive, WorkersLive)
