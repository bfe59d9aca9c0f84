/**
 * One body shape for every error: `{ error, message }` with the status from `errors.ts`, whatever
 * failed (declared errors, the framework's decode errors, an over-limit body, no route, a bug, a
 * broken backing service).
 */
import {
  HttpApiBuilder,
  HttpApiError,
  HttpApiSchema,
  HttpApp,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "@effect/platform"
import { DatabaseError, QueueError, StorageError } from "@imgpipe/core"
import { Cause, Effect, Option, Schema } from "effect"
import { tooLargeMessageOf } from "./bodyLimit.js"
import { apiErrorClasses, BadRequest, ErrorBody, InternalError, NotFound, TooLarge, Unavailable } from "./errors.js"
import { redactSignatures } from "./requestLog.js"

type InfrastructureError = DatabaseError | StorageError | QueueError

const isInfrastructureError = <E>(error: E): error is Extract<E, InfrastructureError> =>
  error instanceof DatabaseError || error instanceof StorageError || error instanceof QueueError

/**
 * For handlers: a failing database or store is logged with its details (operation, key, driver
 * message) and reported to the client as a bare 503: internals never reach the response.
 */
export const unavailableOnInfrastructureError = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, Extract<E, InfrastructureError>> | Unavailable, R> =>
  Effect.catchIf(self, isInfrastructureError, (error) =>
    Effect.logError("backing service failed", error).pipe(
      Effect.zipRight(
        Effect.fail(new Unavailable({ message: "A backing service is unavailable. Retry in a few seconds." }))
      )
    ))

/** Encodes an error through its wire schema, so the status and body come from `errors.ts` alone. */
const respond = <A extends { readonly message: string }, I>(schema: Schema.Schema<A, I>, error: A) =>
  Schema.encode(schema)(error).pipe(
    Effect.flatMap((body) => HttpServerResponse.json(body, { status: HttpApiSchema.getStatusError(schema) })),
    Effect.orDie
  )

/** Turns the framework's schema issues into one readable sentence, e.g. "image_size must be one of …". */
export const describeDecodeError = (error: HttpApiError.HttpApiDecodeError): string => {
  const sentences = error.issues.map((issue) => {
    const where = issue.path.map(String).join(".")
    return where.length === 0 ? issue.message : `${where} ${issue.message}`
  })
  return sentences.length === 0 ? "The request is malformed." : Array.from(new Set(sentences)).join("; ")
}

const isDeclaredError = (u: unknown): boolean => apiErrorClasses.some((errorClass) => u instanceof errorClass)

const pathOf = (url: string) => url.split("?")[0] ?? url

/**
 * Runs around every route, before `HttpApiBuilder` encodes declared errors:
 * - declared API errors pass through, to be encoded by their wire schemas;
 * - `HttpApiDecodeError` (bad query/path/body fields) → 400 `bad_request` with a readable summary,
 *   instead of the framework's `{ _tag, issues }` body;
 * - an unreadable body (invalid JSON is a defect in the framework) → 400 `bad_request`;
 * - no route → 404 `not_found`;
 * - anything else (defects, undeclared failures) → logged, then 500 `internal_error` with no details.
 */
// `HttpApp.Default` types its failures as `never`, though the router really fails with decode
// errors, `RouteNotFound` and the declared errors: inspect them at run time, re-raise only as is.
const mapUnexpected = (cause: Cause.Cause<never>) =>
  Effect.gen(function* () {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error: unknown = failure.value
      if (error instanceof HttpApiError.HttpApiDecodeError) {
        return yield* respond(ErrorBody.BadRequest, new BadRequest({ message: describeDecodeError(error) }))
      }
      if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
        return yield* respond(
          ErrorBody.NotFound,
          new NotFound({
            message: `There is no ${error.request.method} ${pathOf(error.request.url)}. See /docs for the API.`
          })
        )
      }
    }
    // A raw route (see `routes` below) may fail with an error that knows its own response.
    if (Option.isSome(failure) && HttpServerRespondable.isRespondable(failure.value)) {
      return yield* Effect.failCause(cause)
    }
    const defect = Cause.dieOption(cause)
    const tooLarge = Option.flatMap(defect, tooLargeMessageOf)
    if (Option.isSome(tooLarge)) {
      return yield* respond(ErrorBody.TooLarge, new TooLarge({ message: tooLarge.value }))
    }
    if (Option.isSome(defect) && HttpServerError.isServerError(defect.value) && defect.value._tag === "RequestError") {
      return yield* respond(
        ErrorBody.BadRequest,
        new BadRequest({ message: "The request body could not be read: send a JSON object." })
      )
    }
    const request = yield* HttpServerRequest.HttpServerRequest
    // The cause is rendered here so that signed URLs inside error messages can be redacted.
    yield* Effect.logError("unexpected failure").pipe(
      Effect.annotateLogs({
        "http.method": request.method,
        "http.url": pathOf(request.url),
        cause: redactSignatures(Cause.pretty(cause))
      })
    )
    return yield* respond(
      ErrorBody.InternalError,
      new InternalError({ message: "Something went wrong on our side. Try again later." })
    )
  })

/**
 * Error answers describe this moment ("nothing uploaded yet", "database down"): no cache may keep
 * them. A pre-response handler, because the error bodies are encoded after route middleware runs.
 */
const noStoreOnErrors: HttpApp.PreResponseHandler = (_request, response) =>
  Effect.succeed(
    response.status >= 400 && response.headers["cache-control"] === undefined
      ? HttpServerResponse.setHeader(response, "cache-control", "no-store")
      : response
  )

export const ErrorMappingLive = HttpApiBuilder.middleware((app: HttpApp.Default) =>
  HttpApp.appendPreResponseHandler(noStoreOnErrors).pipe(
    Effect.zipRight(app),
    Effect.catchAllCause((cause) => {
      // A client that went away needs no answer; declared errors are the builder's to encode.
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && isDeclaredError(failure.value)) return Effect.failCause(cause)
      return mapUnexpected(cause)
    })
  )
)
