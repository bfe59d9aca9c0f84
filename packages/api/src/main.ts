/**
 * The ECS entry: the HTTP API on S3 and PostgreSQL, on `PORT`. It runs no migrations (the deploy
 * does, through the Migrate function in packages/infra/database.ts; by hand: `bun run migrate`), so
 * tasks can start in any number without racing on the schema.
 *
 * Shutdown: ECS takes the task out of the load balancer, then sends SIGTERM and, after the stop
 * timeout (30 s by default), SIGKILL. On SIGTERM `NodeRuntime.runMain` interrupts the program;
 * closing the server stops accepting connections, lets in-flight requests finish and closes idle
 * keep-alive connections, and only then is the database pool closed. Connections still busy after
 * `IMGPIPE_SHUTDOWN_GRACE_SECONDS` (default 20, inside ECS's 30) are cut so the process exits on its
 * own terms rather than being killed mid-write.
 */
import { NodeRuntime } from "@effect/platform-node"
import { LogLevelLive, shutdownGraceConfig } from "@imgpipe/core"
import { makeLogFormatLayer } from "@imgpipe/core/observability/logging"
import { makeTracingLayer } from "@imgpipe/core/observability/tracing"
import { Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { makeApiLive } from "./layers.js"

const server = createServer()

const main = Effect.gen(function* () {
  const grace = yield* shutdownGraceConfig
  yield* Layer.build(makeApiLive(server))
  // Added after the server, so it runs first when the scope closes: the timer starts as the
  // shutdown begins and only fires if in-flight requests outlast the grace period.
  yield* Effect.addFinalizer(() =>
    Effect.logInfo("shutting down: finishing in-flight requests").pipe(
      Effect.zipRight(
        Effect.sync(() => {
          setTimeout(() => server.closeAllConnections(), Duration.toMillis(grace)).unref()
        })
      )
    )
  )
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  // JSON log lines (CloudWatch Logs Insights) unless IMGPIPE_LOG_FORMAT says otherwise; traces go to
  // OTEL_EXPORTER_OTLP_ENDPOINT when set, else the tracer is off (spans would only be bookkeeping).
  Effect.provide(Layer.mergeAll(LogLevelLive, makeLogFormatLayer("json"), makeTracingLayer("imgpipe-api")))
)

NodeRuntime.runMain(main)
