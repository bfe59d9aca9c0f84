/**
 * The storage half of the embedded server: what S3 does for presigned URLs, over `DiskStorage`.
 * Every answer that is not the object is JSON `{ error, message }`. The handlers need no scope from
 * the server: the upload closes its own, and a download's file is owned by its body stream.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { canonicalContentType, type StorageError } from "@imgpipe/core"
import { DECIMAL, DiskStorage } from "@imgpipe/core/local/disk-service"
import { type InsufficientStorage, type RefusalCode, refuse, type SignedUrlRefused } from "@imgpipe/core/local/refusals"
import { Effect, Option, Stream } from "effect"
import { Readable } from "node:stream"
import { objectResponse, quoted } from "./object-response.js"

/** What `PUT /storage/raw/:key` reported to its callback: plays the S3 ObjectCreated event. */
export interface RawObjectCreated {
  readonly key: string
  readonly bytes: number
  readonly contentType: string
}

/** The HTTP status of each refusal. */
export const REFUSAL_STATUS: Readonly<Record<RefusalCode, number>> = {
  signature_mismatch: 403,
  url_expired: 403,
  content_type_mismatch: 403,
  content_length_mismatch: 400,
  missing_content_length: 411,
  // S3 answers a conditional write (If-None-Match: *) on an existing key with 412 too.
  object_exists: 412
}

/**
 * Reads what is left of a request body and throws it away, so that an answer written before the
 * body ended reaches the client: closing a socket with unread bytes makes the kernel send a reset,
 * and the client then sees ECONNRESET instead of the answer. The length was signed (at most the
 * upload limit), so draining is bounded. A no-op on a body already read to its end.
 */
export const drain = (body: Readable): void => {
  if (body.readableEnded || body.destroyed) return
  body.unpipe()
  body.resume()
}

const errorJson = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message }, { status })

const refusalResponse = (refusal: SignedUrlRefused) =>
  Effect.succeed(errorJson(REFUSAL_STATUS[refusal.code], refusal.code, refusal.message))

/**
 * Storage failures answer JSON the client can act on: 507 when the disk (or quota) is full, 503 for
 * any other file system failure (retry later). Logged with the key, never with the URL (its query
 * carries the signature).
 */
const storageErrorResponse = (error: StorageError | InsufficientStorage) =>
  Effect.logError("local storage failed", { operation: error.operation, key: error.key, message: error.message }).pipe(
    Effect.as(
      error._tag === "InsufficientStorage"
        ? errorJson(507, "insufficient_storage", "the server has no space left to store this upload; try again later")
        : errorJson(503, "storage_unavailable", "the object could not be stored or read; try again later")
    )
  )

/**
 * The request body as a Node.js stream: on the Node server that is the `IncomingMessage` itself
 * (piped to the file without a copy per chunk); any other server's body stream is adapted.
 */
const nodeBody = (request: HttpServerRequest.HttpServerRequest): Readable =>
  request.source instanceof Readable
    ? request.source
    : Readable.fromWeb(Stream.toReadableStream(request.stream) as never)

/**
 * The storage half of the embedded server: what S3 does for presigned URLs.
 *
 * - `PUT /storage/raw/:key` stores an upload and then calls `onRawObjectCreated` (the S3
 *   ObjectCreated notification). A failing callback is logged and the answer is still 200: the object
 *   is stored, and the runner's resume sweep of images awaiting upload picks it up. One upload per
 *   key (`412 object_exists`); a full disk answers `507`, other storage failures `503`.
 * - `GET|HEAD /storage/:bucket/*` serves an object with its Content-Type, Cache-Control and ETag.
 *
 * Needs `DiskStorage` (from core's `DiskStorageLive`) and whatever the callback needs.
 */
export const makeStorageRouter = <R = never>(
  onRawObjectCreated: (event: RawObjectCreated) => Effect.Effect<void, unknown, R>
): HttpRouter.HttpRouter<never, DiskStorage | R> => {
  const upload = Effect.gen(function* () {
    const disk = yield* DiskStorage
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = nodeBody(request)
    // Whatever the answer, the rest of the body is read and dropped so that the client sees it
    // (closing on unread bytes sends a reset); the URL's signed length bounds what is drained.
    yield* Effect.addFinalizer(() => Effect.sync(() => drain(body)))
    const params = yield* HttpRouter.params
    const query = yield* HttpServerRequest.ParsedSearchParams
    const signed = yield* disk.verifyUpload({ key: params.key ?? "", query })

    const lengthHeader = request.headers["content-length"]
    if (lengthHeader === undefined) {
      return yield* refuse("missing_content_length", "Content-Length is required (chunked uploads are not accepted)")
    }
    const contentType = canonicalContentType(request.headers["content-type"] ?? "")
    if (contentType !== signed.contentType) {
      return yield* refuse(
        "content_type_mismatch",
        `Content-Type must be ${signed.contentType}, the type this URL was signed for`
      )
    }
    if (!DECIMAL.test(lengthHeader.trim()) || Number(lengthHeader.trim()) !== signed.contentLength) {
      return yield* refuse(
        "content_length_mismatch",
        `Content-Length must be ${signed.contentLength}, the length this URL was signed for`
      )
    }

    const stored = yield* disk.receiveRaw({
      upload: signed,
      body,
      afterCommit: (stored) =>
        onRawObjectCreated({ key: signed.key, bytes: stored.bytes, contentType: signed.contentType }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning(
              "upload stored but its notification failed; it stays awaiting_upload and the resume sweep starts it",
              {
                key: signed.key,
                cause
              }
            )
          )
        )
    })
    return HttpServerResponse.empty({ status: 200, headers: { etag: quoted(stored.etag) } })
  }).pipe(
    Effect.catchTags({
      SignedUrlRefused: refusalResponse,
      StorageError: storageErrorResponse,
      InsufficientStorage: storageErrorResponse
    }),
    Effect.scoped
  )

  const download = Effect.gen(function* () {
    const disk = yield* DiskStorage
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const query = yield* HttpServerRequest.ParsedSearchParams
    const { bucket, key } = yield* disk.verifyDownload({ bucket: params.bucket ?? "", key: params["*"] ?? "", query })
    const opened = yield* disk.open(bucket, key)
    if (Option.isNone(opened)) return errorJson(404, "not_found", "no object at this URL")
    const cacheControl = Option.flatMap(opened.value.meta, (m) => Option.fromNullable(m.cacheControl))
    return objectResponse(request, opened.value, cacheControl)
  }).pipe(Effect.catchTags({ SignedUrlRefused: refusalResponse, StorageError: storageErrorResponse }))

  return HttpRouter.empty.pipe(
    HttpRouter.put("/storage/raw/:key", upload),
    HttpRouter.get("/storage/:bucket/*", download),
    HttpRouter.head("/storage/:bucket/*", download)
  )
}
