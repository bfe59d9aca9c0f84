/**
 * Handlers of the `system` group: liveness and readiness, and the OpenAPI document and docs page.
 * Readiness means this instance can serve: the process can open files and the database answers
 * (each checked on every probe, with a bound on the wait).
 */
import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware } from "@effect/platform"
import { DatabaseError, ImageRepository } from "@imgpipe/core"
import { Duration, Effect, Layer } from "effect"
import { Api } from "../Api.js"
import { NotReady } from "../errors.js"
import { probeOpenFiles } from "./openFiles.js"

/** A hung connection must not hang the load balancer's probe. */
const READY_TIMEOUT = Duration.seconds(3)

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  handlers
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

/**
 * `GET /openapi.json` and `GET /docs` (listed in the document by `documentServerRoutes`). Swagger UI
 * is used because `HttpApiSwagger.layer` inlines its script and CSS in the page (no CDN: the docs
 * work on a machine without internet).
 */
export const DocsLive = Layer.mergeAll(
  HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
  HttpApiSwagger.layer({ path: "/docs" })
)
