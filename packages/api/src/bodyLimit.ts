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
  FileSystem,
  type Headers,
  HttpApiBuilder,
  type HttpApp,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  Multipart,
  UrlParams
} from "@effect/platform"
import { Config, Effect, Exit, Inspectable, Option, Schema, Stream } from "effect"
import { IncomingMessage } from "node:http"
import type { Readable } from "node:stream"

/** A few KiB is plenty for `/upload` (`{"content_type":"image/jpeg","content_length":245760}`). */
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

/**
 * The message of a 413 when `u` (a failure or defect of the body readers) is a refused body: ours,
 * or the platform's own multipart limit (which knows no more than that the body was too large).
 */
export const tooLargeMessageOf = (u: unknown): Option.Option<string> => {
  if ((HttpServerError.isServerError(u) && u._tag === "RequestError") || u instanceof Multipart.MultipartError) {
    if (u.cause instanceof BodyTooLarge) return Option.some(u.cause.message)
  }
  return u instanceof Multipart.MultipartError && u.reason === "BodyTooLarge"
    ? Option.some("The request body is over the limit (IMGPIPE_MAX_JSON_BODY_BYTES).")
    : Option.none()
}

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

  get source() {
    return this.original.source
  }
  get url() {
    return this.original.url
  }
  get originalUrl() {
    return this.original.originalUrl
  }
  get method() {
    return this.original.method
  }
  get cookies() {
    return this.original.cookies
  }
  get headers() {
    return this.original.headers
  }
  get remoteAddress() {
    return this.original.remoteAddress
  }
  /** Multipart bodies (never what a JSON endpoint wants) are held to the limit as well. */
  get multipart() {
    return this.declaredOverLimit()
      ? Effect.fail(new Multipart.MultipartError({ reason: "BodyTooLarge", cause: this.tooLarge() }))
      : HttpIncomingMessage.withMaxBodySize(this.original.multipart, Option.some(this.limit))
  }
  get multipartStream() {
    return this.declaredOverLimit()
      ? Stream.fail(new Multipart.MultipartError({ reason: "BodyTooLarge", cause: this.tooLarge() }))
      : Stream.provideService(
        this.original.multipartStream,
        HttpIncomingMessage.MaxBodySize,
        Option.some(FileSystem.Size(this.limit))
      )
  }
  get upgrade() {
    return this.original.upgrade
  }
  get stream() {
    return this.original.stream
  }

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

  private tooLarge = () => new BodyTooLarge({ limit: this.limit, message: tooLargeMessage(this.limit) })

  private declaredOverLimit = (): boolean => (declaredLength(this.original.headers) ?? 0) > this.limit

  private readBody(): Effect.Effect<Uint8Array, HttpServerError.RequestError> {
    const length = declaredLength(this.original.headers)
    if (this.declaredOverLimit()) return Effect.fail(this.fail(this.tooLarge()))
    const source = this.original.source
    if (length === undefined && source instanceof IncomingMessage) return readBounded(source, this.limit, this.fail)
    // Declared within the limit (Node reads no further than Content-Length), or another platform.
    return HttpIncomingMessage.withMaxBodySize(this.original.arrayBuffer, Option.some(this.limit)).pipe(
      Effect.map((buffer) => new Uint8Array(buffer))
    )
  }

  get bytes(): Effect.Effect<Uint8Array, HttpServerError.RequestError> {
    return Effect.suspend(() =>
      this.read ?? Effect.flatten(Effect.tap(Effect.exit(this.readBody()), (exit) => {
        this.read = exit
      }))
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
