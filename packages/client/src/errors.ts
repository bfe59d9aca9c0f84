/**
 * One error type for everything the client can fail with. An answer of the API keeps the API's own
 * `{ error, message }` (`code`, `message`) and its HTTP `status`; a failure with no HTTP answer
 * (network, timeout, abort, an image that ended `failed` or `expired`) has no `status`.
 */
import { HttpApiSchema } from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import { ErrorBody } from "@imgpipe/api/errors"
import { ImageStatusJson } from "@imgpipe/core/domain/statusJson"
import { Effect, Option, ParseResult, Predicate, Schema } from "effect"

export class ImgpipeError extends Schema.TaggedError<ImgpipeError>()("ImgpipeError", {
  /** The API's error code (`not_found`, `unsupported_type`, a rejection code…) or the client's own:
   *  `network_error`, `timeout`, `aborted`, `invalid_response`, `http_<status>`, `failed`, `expired`. */
  code: Schema.String,
  /** The HTTP status of the answer that carried the error; absent when there was no answer. */
  status: Schema.optional(Schema.Number),
  message: Schema.String,
  /** The image's final status JSON, when the error is that the image failed or expired. */
  image: Schema.optional(ImageStatusJson)
}) {}

const WireBody = Schema.Struct({ error: Schema.String, message: Schema.String })
const decodeWireBody = Schema.decodeUnknownOption(Schema.parseJson(WireBody))

type WireSchema = Schema.Schema<unknown, { readonly error: string; readonly message: string }>
const wireSchemas: Readonly<Record<string, WireSchema>> = ErrorBody as unknown as Record<string, WireSchema>

/**
 * An error the typed client decoded from the API (a tagged error of the contract) back to the code
 * and status it had on the wire, through the contract's own wire schemas: nothing is listed twice.
 */
const fromContractError = (error: { readonly _tag: string }): Option.Option<ImgpipeError> => {
  const schema = wireSchemas[error._tag]
  if (schema === undefined) return Option.none()
  return Schema.encodeOption(schema)(error).pipe(
    Option.map((body) =>
      new ImgpipeError({ code: body.error, message: body.message, status: HttpApiSchema.getStatusError(schema) })
    )
  )
}

/** An HTTP answer outside the contract: its JSON `{ error, message }` when it has one. */
export const fromResponse = (status: number, text: string): ImgpipeError =>
  Option.match(decodeWireBody(text), {
    onNone: () =>
      new ImgpipeError({
        code: `http_${status}`,
        status,
        message: text.trim().slice(0, 300) || `the server answered ${status}`
      }),
    onSome: (body) => new ImgpipeError({ code: body.error, message: body.message, status })
  })

const isResponseError = (u: unknown): u is HttpClientError.ResponseError => Predicate.isTagged(u, "ResponseError")
const isRequestError = (u: unknown): u is HttpClientError.RequestError => Predicate.isTagged(u, "RequestError")

/** Whatever the typed client failed with, as an `ImgpipeError`. */
export const toImgpipeError = (error: unknown): Effect.Effect<ImgpipeError> => {
  if (error instanceof ImgpipeError) return Effect.succeed(error)
  if (isResponseError(error)) {
    return error.response.text.pipe(
      Effect.orElseSucceed(() => ""),
      Effect.map((text) => fromResponse(error.response.status, text))
    )
  }
  if (isRequestError(error)) {
    return Effect.succeed(
      new ImgpipeError({
        code: "network_error",
        message: `${error.request.method} ${error.request.url}: ${error.cause}`
      })
    )
  }
  if (ParseResult.isParseError(error)) {
    return Effect.succeed(new ImgpipeError({ code: "invalid_response", message: error.message }))
  }
  if (Predicate.hasProperty(error, "_tag") && Predicate.isString(error._tag)) {
    const mapped = fromContractError(error as { readonly _tag: string })
    if (Option.isSome(mapped)) return Effect.succeed(mapped.value)
  }
  return Effect.succeed(new ImgpipeError({ code: "client_error", message: String(error) }))
}
