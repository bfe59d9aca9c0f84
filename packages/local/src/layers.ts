/**
 * The embedded runner's one choice of implementations: PGlite (or `DATABASE_URL`), the local disk
 * behind signed URLs, PostgreSQL-table queues, sharp. Everything above these layers — the use cases,
 * the HTTP API, the workers — is the same code the AWS runtimes run.
 */
import { HttpApiBuilder, HttpMiddleware, HttpRouter, HttpServerResponse } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { AdminAuthorizationKeys, AdminAuthorizationOpen } from "@imgpipe/api/authorization"
import { makeHttpServer } from "@imgpipe/api/Http"
import {
  adminKeysConfig,
  DeliverySettings,
  describeDelivery,
  makeDeliverySettingsLayer,
  portConfig,
  ReconcileSettingsLive,
  SettingsLive
} from "@imgpipe/core"
import { DiskStorage, diskStorageConfig, DiskStorageLive } from "@imgpipe/core/local/DiskStorage"
import { LocalQueueLive } from "@imgpipe/core/local/PgQueue"
import { PgQueueAdminLive } from "@imgpipe/core/local/PgQueueAdmin"
import { SharpConfigLive, SharpResizerLive } from "@imgpipe/core/resizer/SharpResizer"
import { AdminRepositorySql } from "@imgpipe/core/sql/AdminRepositorySql"
import { ChangeFeedSql } from "@imgpipe/core/sql/ChangeFeedSql"
import { DatabaseLive } from "@imgpipe/core/sql/embedded"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { Config, Context, Effect, Layer } from "effect"
import type { Server } from "node:http"
import { CDN_PATH, makeCdnRouter } from "./cdn-routes.js"
import { makeLocalInfoRoute } from "./info.js"
import { UploadNotifications, UploadNotificationsLive } from "./notifications.js"
import { indexHtml, makeClientScriptRoute } from "./page.js"
import { ResizePriorityLive } from "./priority.js"
import { ReconcilerLive } from "./reconcile.js"
import { ResumeSweepLive } from "./resume.js"
import { cutConnectionsAfterGrace } from "./shutdown.js"
import { AnnounceLive, hostConfig } from "./startup.js"
import { makeStorageRouter } from "./storage-routes.js"
import { EmbeddedWebhooksLive, WebhookPollerLive } from "./webhooks.js"
import { WorkersLive } from "./workers.js"

/**
 * `IMGPIPE_DELIVERY` here: `cdn` (the default) redirects renditions to this server's own stable
 * `${IMGPIPE_PUBLIC_URL}/cdn/<key>` paths (cdn-routes.ts) unless `IMGPIPE_CDN_URL` names another base.
 */
export const LocalDeliverySettingsLive = Layer.unwrapEffect(
  Effect.map(
    Config.map(diskStorageConfig, (config) => config.publicUrl),
    (publicUrl) => makeDeliverySettingsLayer(`${publicUrl}${CDN_PATH}`)
  )
).pipe(Layer.tap((context) => Effect.logInfo(describeDelivery(Context.get(context, DeliverySettings)))))

/** The core services on their embedded implementations, over whatever database is given. */
export const EmbeddedServicesLive = Layer.mergeAll(
  ImageRepositorySql,
  // The event streams' one change feed (polls only while a stream is open).
  ChangeFeedSql.pipe(Layer.provide(ImageRepositorySql)),
  LocalQueueLive,
  // The admin API's records and queue statistics (the same tables).
  AdminRepositorySql,
  PgQueueAdminLive.pipe(Layer.provide(Layer.merge(LocalQueueLive, WebhookDeliveriesSql))),
  DiskStorageLive,
  SharpResizerLive,
  // Webhooks: the delivery rows, the table as their queue, settings, resolver, HTTP client.
  EmbeddedWebhooksLive
).pipe(
  Layer.provideMerge(Layer.mergeAll(SettingsLive, ReconcileSettingsLive, SharpConfigLive, LocalDeliverySettingsLive))
)

/** The embedded services on PGlite (or `DATABASE_URL`) and Node's file system. */
export const CoreLive = EmbeddedServicesLive.pipe(
  Layer.provideMerge(DatabaseLive),
  Layer.provideMerge(NodeContext.layer)
)

/**
 * The local storage routes (signed PUT/GET), the stable `/cdn` paths of the renditions and the
 * upload page, on the API's own server. Like S3,
 * the PUT route answers once the object is stored and hands its ObjectCreated notification to
 * `UploadNotifications`, which starts processing (in batches) right after. Signed URLs are bearer
 * links, so these routes stay out of the request log.
 */
const ExtraRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    // Only the storage service: the build's whole context would hand its never-closing Scope to
    // every request, and anything a route opened in it would stay open until shutdown.
    const context = Context.pick(DiskStorage)(yield* Effect.context<DiskStorage>())
    const notifications = yield* UploadNotifications
    const storage = makeStorageRouter((event) => notifications.notify({ key: event.key, bytes: event.bytes })).pipe(
      HttpRouter.use((app) => HttpMiddleware.withLoggerDisabled(Effect.provide(app, context)))
    )
    yield* router.concat(storage)
    // Renditions at stable unsigned paths, only when they are meant to be public.
    if ((yield* DeliverySettings).mode === "cdn") {
      yield* router.concat(
        makeCdnRouter().pipe(HttpRouter.use((app) => HttpMiddleware.withLoggerDisabled(Effect.provide(app, context))))
      )
    }
    yield* router.get("/", HttpServerResponse.html(indexHtml))
    yield* router.get("/client.js", yield* makeClientScriptRoute)
    yield* router.get("/local/info", yield* makeLocalInfoRoute)
    // Browsers ask for it on every page load; answer without a 404 in the log.
    yield* router.get("/favicon.ico", HttpServerResponse.empty({ status: 204 }))
  })
)

export { hostConfig }

const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || /^127\./.test(host)

/**
 * The admin API's policy here: admin keys when `IMGPIPE_ADMIN_KEYS` is set; without them open
 * while the server listens on loopback only (nobody else can reach it; the start-up log says so),
 * and off on any other address.
 */
export const AdminAuthorizationLocal = Layer.unwrapEffect(
  Effect.gen(function* () {
    const adminKeys = yield* adminKeysConfig
    const host = yield* hostConfig
    return adminKeys.length === 0 && isLoopback(host) ? AdminAuthorizationOpen : AdminAuthorizationKeys
  })
)

/**
 * The API and the extra routes on whichever `HttpServer` is provided (request log as
 * `IMGPIPE_LOG_LEVEL` says, see `makeHttpServer`).
 */
export const ServerLive = makeHttpServer({
  routes: ExtraRoutes,
  corsDefault: "*",
  // The metrics' route labels of the routes above.
  extraRoutes: [
    "PUT /storage/raw/:key",
    "GET /storage/:bucket/*",
    "GET /cdn/*",
    "GET /",
    "GET /local/info",
    "GET /favicon.ico"
  ]
}).pipe(
  Layer.provide(UploadNotificationsLive),
  Layer.provide(AdminAuthorizationLocal)
)

/**
 * The server on `server`, bound to `HOST` (loopback by default) and `PORT`; it prints where it
 * listens, and at a stop cuts requests still in flight after `IMGPIPE_SHUTDOWN_GRACE_SECONDS`.
 */
export const makeHttpLive = (server: Server) =>
  Layer.mergeAll(ServerLive, AnnounceLive, Layer.scopedDiscard(cutConnectionsAfterGrace(server))).pipe(
    Layer.provide(NodeHttpServer.layerConfig(() => server, { port: portConfig, host: hostConfig }))
  )

/**
 * API, storage routes, the three queue workers (resizing below request priority), the periodic
 * resume sweep and the reconciler, over the core services.
 */
export const makeAppLive = (server: Server) =>
  Layer.mergeAll(
    makeHttpLive(server),
    WorkersLive,
    ResizePriorityLive,
    ResumeSweepLive.pipe(Layer.provide(UploadNotificationsLive)),
    ReconcilerLive,
    WebhookPollerLive
  )
