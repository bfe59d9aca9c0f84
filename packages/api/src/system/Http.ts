/**
 * Handlers of the `system` group: liveness and readiness, the Prometheus metrics, and the OpenAPI
 * document and docs page. Readiness means this instance can serve: the process can open files and
 * the database answers (each checked on every probe, with a bound on the wait).
 *
 * `GET /metrics` reads the queue gauges at scrape time from `QueueAdmin` when the runtime provides
 * it (the embedded runner's tables, SQS for the ECS API); a queue that does not answer within 2 s
 * leaves the gauges at their last values (logged), it does not fail the scrape.
 */
import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware } from "@effect/platform"
import { DatabaseError, ImageRepository } from "@imgpipe/core"
import { recordQueues } from "@imgpipe/core/observability/metrics"
import { prometheusText } from "@imgpipe/core/observability/prometheus"
import { QueueAdmin } from "@imgpipe/core/services/QueueAdmin"
import { Duration, Effect, Layer, Option } from "effect"
import { Api } from "../Api.js"
import { NotReady } from "../errors.js"
import { probeOpenFiles } from "./openFiles.js"

/** A hung connection must not hang the load balancer's probe. */
const READY_TIMEOUT = Duration.seconds(3)

/** How long a scrape waits for the queue statistics. */
const QUEUE_STATS_TIMEOUT = Duration.seconds(2)

/** Sets the queue gauges from `QueueAdmin` (when there is one), then renders the registry. */
const scrape = (queueAdmin: Option.Option<QueueAdmin["Type"]>) =>
  Effect.gen(function* () {
    if (Option.isSome(queueAdmin)) {
      yield* queueAdmin.value.stats.pipe(
        Effect.timeout(QUEUE_STATS_TIMEOUT),
        Effect.flatMap((stats) =>
          recordQueues(stats.map((queue) => ({
            queue: queue.name,
            depth: queue.depth,
            inFlight: queue.inFlight,
            oldestAgeSeconds: queue.oldestAgeSeconds ?? 0,
            deadLetter: queue.deadLetter
          })))
        ),
        Effect.catchAll((error) => Effect.logWarning("metrics: the queue statistics are not available", error))
      )
    }
    return yield* prometheusText
  })

export const SystemLive = HttpApiBuilder.group(
  Api,
  "system",
  (handlers) =>
    Effect.map(Effect.serviceOption(QueueAdmin), (queueAdmin) =>
      handlers
        // Scrapes come every 15-60 s per scraper: keep them out of the request log (they are still counted).
        .handle("metrics", () => HttpMiddleware.withLoggerDisabled(scrape(queueAdmin)))
        // Probes arrive every few seconds per target: keep them out of the request log.
        .handle("health", () => HttpMiddleware.withLoggerDisabled(Effect.succeed({ status: "ok" as const })))
        .handle("ready", () =>
          Effect.gen(function* () {
            const repo = yield* ImageRepository
            // At the open-files limit every download fails while the database answers fine.
            yield* probeOpenFiles.pipe(
              Effect.catchAll((error) =>
                Effect.logWarning("not ready: the process cannot open files", { code: error.code }).pipe(
                  Effect.zipRight(Effect.fail(new NotReady({ message: error.message })))
                )
              )
            )
            return yield* repo.ping.pipe(
              Effect.timeoutFail({
                duration: READY_TIMEOUT,
                onTimeout: () => new DatabaseError({ operation: "ping", message: "no answer within 3 seconds" })
              }),
              Effect.as({ status: "ok" as const }),
              Effect.catchAll((error) =>
                Effect.logWarning("not ready: the database does not answer", error).pipe(
                  Effect.zipRight(Effect.fail(new NotReady({ message: "The database does not answer." })))
                )
              )
            )
          }).pipe(HttpMiddleware.withLoggerDisabled)))
)

/**
 * `GET /openapi.json` and `GET /docs` (listed in the document by `documentServerRoutes`). Swagger UI
 * is used because `HttpApiSwagger.layer` inlines its script and CSS in the page (no CDN: the docs
 * work on a machine without internet).
 */
export const DocsLive = Layer.mergeAll(
  HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
  HttpApiSwagger.layer({ path: "/docs" })
)
