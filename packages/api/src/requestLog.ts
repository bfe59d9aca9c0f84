/**
 * The request log: one line per request (`GET /get_image?… 302 4ms`), where the platform's
 * `HttpMiddleware.logger` prints four (a message and three annotations, each on its own line in
 * the pretty logger). Routes opt out as before with `HttpMiddleware.withLoggerDisabled`.
 *
 * Signed URLs are bearer credentials: their signatures never reach the log (`redactSignatures`).
 */
import { type HttpApp, HttpMiddleware, HttpServerError, HttpServerRequest } from "@effect/platform"
import { Clock, Effect, Exit, FiberRef } from "effect"

/** Query parameters that carry a credential: our signed URLs' `sig`, and S3's presigned ones. */
const SECRET_PARAMS = ["sig", "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"]
const secretParam = new RegExp(`([?&](?:${SECRET_PARAMS.join("|")})=)[^&#\\s"']*`, "gi")

/** Replaces the value of every signature-bearing query parameter in `text` with `[redacted]`. */
export const redactSignatures = (text: string): string => text.replace(secretParam, "$1[redacted]")

/** Server middleware: logs each request once, at INFO, after its answer. */
export const requestLog = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(app)
    if (!(yield* FiberRef.get(HttpMiddleware.loggerDisabled))) {
      const status = Exit.match(exit, {
        onSuccess: (response) => response.status,
        onFailure: (cause) => HttpServerError.causeResponseStripped(cause)[0].status
      })
      const elapsed = (yield* Clock.currentTimeMillis) - started
      yield* Effect.logInfo(`${request.method} ${redactSignatures(request.url)} ${status} ${elapsed}ms`)
    }
    return yield* exit
  })
