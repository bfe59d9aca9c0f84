/**
 * A limit on the request bodies the server buffers (the JSON of `POST /upload` and any future JSON
 * endpoint), enforced before the bytes are held in memory:
 *
 * - a declared `Content-Length` over the limit is refused without reading a byte;
 * - a body without one (chunked) is counted while it streams in and refused at the first byte over;
 * - within the limit, `@effect/platform` reads it as usual, under its own `MaxBodySize` as well.
 *
 * The limit sits on the buffered readers (`text`, `json`, `arrayBuffer`, `urlParamsBody`), exactly
 * where `HttpIncomingMessage.MaxBodySize` applies, so routes that stream their body (`source`,
 * `stream`: the embedded runner's storage PUT, up to 25 MiB straight to disk) are untouched without
 * any list of exempt paths.
 *
 * Why not `MaxBodySize` alone: the platform reads a declared body until the limit is crossed, and on
 * crossing it destroys the request stream, which on Node destroys the socket: the client gets a
 * connection reset, never the 413. Here the stream is only paused and the 413 is sent.
 *
 * Node's server answers a request whose body has not fully arrived with `Connection: close` and
 * closes the connection after the answer, so a refused body (413 here, or 401 from the bearer
 * check, which runs before the body is decoded) is never read to its end (body-limit.test.ts).
 */
import {
  type Headers,
  HttpApiBuilder,
  HttpApp,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
  UrlParams
} from "@effect/platform"
import { Config, Effect, Exit, Inspectable, Option, Schema } from "effect"
import { IncomingMessage } from "node:http"
import type { Readable } from "node:stream"

/** A few KiB is plenty for `/upload` (`{ content_type, content_length, callback_url? }`). */
export const DEFAULT_MAX_JSON_BODY_BYTES = 16_384
/** The platform's own intended ceiling for buffered bodies; well below V8's string limit. */
export const MAX_JSON_BODY_BYTES_CEILING = 10 * 1024 * 1024

/** `IMGPIPE_MAX_JSON_BODY_BYTES`: the largest JSON request body accepted, in bytes. */
export const maxJsonBodyBytesConfig = Config.integer("IMGPIPE_MAX_JSON_BODY_BYTES").pipe(
  Config.withDefault(DEFAULT_MAX_JSON_BODY_BYTES),
  Config.validate({
    message: `IMGPIPE_MAX_JSON_BODY_BYTES must be a whole number of bytes from 1024 to ${MAX_JSON_BODY_BYTES_CEILING}`,
    validation: (n) => n >= 1024 && n <= MAX_JSON_BODY_BYTES_CEILING
  })
)

/** The cause inside the `RequestError` a refused body fails with; the error mapping answers 413. */
export class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", {
  limit: Schema.Number,
  message: Schema.String
}) {}

const tooLargeMessage = (limit: number) =>
  `The request body is over ${limit} bytes, the limit for JSON bodies (IMGPIPE_MAX_JSON_BODY_BYTES).`

/** The `BodyTooLarge` inside a failure or defect of the body readers, if that is what it is. */
export const bodyTooLargeOf = (u: unknown): Option.Option<BodyTooLarge> =>
  HttpServerError.isServerError(u) && u._tag === "RequestError" && u.cause instanceof BodyTooLarge
    ? Option.some(u.cause)
    : Option.none()

/** The declared length: a number, `undefined` when absent (chunked), `NaN` when unreadable. */
const declaredLength = (headers: Headers.Headers): number | undefined => {
  const value = headers["content-length"]
  return value === undefined ? undefined : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN
}

/**
 * Reads a Node request stream to its end, holding at most `limit` bytes. Over the limit it stops
 * listening and pauses the stream (destroying it would reset the socket before the 413 is sent).
 */
const readBounded = (
  source: Readable,
  limit: number,
  fail: (cause: unknown) => HttpServerError.RequestError
): Effect.Effect<Uint8Array, HttpServerError.RequestError> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) {
        chunks.push(chunk)
        return
      }
      stop()
      source.pause()
      resume(Effect.fail(fail(new BodyTooLarge({ limit, message: tooLargeMessage(limit) }))))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks)))
    }
    const onError = (error: unknown) => {
      stop()
      resume(Effect.fail(fail(error)))
    }
    const onClose = () => onError(new Error("the client closed the connection before the body ended"))
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    source.once("close", onClose)
    return Effect.sync(() => {
      stop()
      source.pause()
    })
  })

const utf8 = new TextDecoder("utf-8")

/**
 * The request as the routes see it: everything delegated to the server's request, except the
 * buffered body readers, which go through the limit. Reads are remembered, as the platform's are.
 */
class LimitedBodyRequest extends Inspectable.Class implements HttpServerRequest.HttpServerRequest {
  readonly [HttpServerRequest.TypeId]: HttpServerRequest.TypeId = HttpServerRequest.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  private read: Exit.Exit<Uint8Array, HttpServerError.RequestError> | undefined = undefined

  constructor(readonly original: HttpServerRequest.HttpServerRequest, readonly limit: number) {
    super()
  }

  get source() { return this.original.source }
  get url() { return this.original.url }
  get originalUrl() { return this.original.originalUrl }
  get method() { return this.original.method }
  get cookies() { return this.original.cookies }
  get headers() { return this.original.headers }
  get remoteAddress() { return this.original.remoteAddress }
  get multipart() { return this.original.multipart }
  get multipartStream() { return this.original.multipartStream }
  get upgrade() { return this.original.upgrade }
  get stream() { return this.original.stream }

  modify(options: Parameters<HttpServerRequest.HttpServerRequest["modify"]>[0]): HttpServerRequest.HttpServerRequest {
    return new LimitedBodyRequest(this.original.modify(options), this.limit)
  }

  /** A refused or unparsable body is a `Decode` error; anything the stream itself raised, `Transport`. */
  private fail = (cause: unknown, description?: string) => {
    const text = description ?? (cause instanceof BodyTooLarge ? cause.message : undefined)
    return new HttpServerError.RequestError({
      request: this.original,
      reason: text === undefined ? "Transport" : "Decode",
      cause,
      ...(text === undefined ? {} : { description: text })
    })
  }

  private readBody(): Effect.Effect<Uint8Array, HttpServerError.RequestError> {
    const length = declaredLength(this.original.headers)
    if (length !== undefined && length > this.limit) {
      return Effect.fail(this.fail(new BodyTooLarge({ limit: this.limit, message: tooLargeMessage(this.limit) })))
    }
    const source = this.original.source
    if (length === undefined && source instanceof IncomingMessage) return readBounded(source, this.limit, this.fail)
    // Declared within the limit (Node reads no further than Content-Length), or another platform.
    return HttpIncomingMessage.withMaxBodySize(this.original.arrayBuffer, Option.some(this.limit)).pipe(
      Effect.map((buffer) => new Uint8Array(buffer))
    )
  }

  get bytes(): Effect.Effect<Uint8Array, HttpServerError.RequestError> {
    return Effect.suspend(() =>
      this.read ?? Effect.flatten(Effect.tap(Effect.exit(this.readBody()), (exit) => { this.read = exit }))
    )
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError.RequestError> {
    return Effect.map(this.bytes, (bytes) => bytes.slice().buffer)
  }

  get text(): Effect.Effect<string, HttpServerError.RequestError> {
    return Effect.map(this.bytes, (bytes) => utf8.decode(bytes))
  }

  get json(): Effect.Effect<unknown, HttpServerError.RequestError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: (): unknown => text === "" ? null : JSON.parse(text),
        catch: (error) => this.fail(error, "the body is not valid JSON")
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpServerError.RequestError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (error) => this.fail(error, "the body is not URL-encoded")
      }))
  }

  toJSON(): unknown {
    return this.original.toJSON()
  }
}

/**
 * Router middleware: the routes read buffered bodies of at most `limit` bytes. It must run inside
 * the server's response handling (the server writes the answer through its own request object), so
 * it is installed on the router (`BodyLimitLive`), not as `HttpApiBuilder.serve` middleware.
 */
export const limitBufferedBodies = (limit: number) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  HttpServerRequest.HttpServerRequest.pipe(
    Effect.flatMap((request) =>
      Effect.provideService(app, HttpServerRequest.HttpServerRequest, new LimitedBodyRequest(request, limit))
    )
  )

/** The limit from `IMGPIPE_MAX_JSON_BODY_BYTES`, on every route of the API's router. */
export const BodyLimitLive = HttpApiBuilder.middleware(Effect.map(maxJsonBodyBytesConfig, limitBufferedBodies))
