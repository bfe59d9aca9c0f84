/**
 * The embedded storage as its HTTP routes see it (`DiskStorage`), and what the service and the
 * routes share: the sidecar's shape and how signed fields are read. Implemented in `DiskStorage.ts`.
 */
import type { PlatformError } from "@effect/platform/Error"
import { Context, type Effect, type Option, Schema, type Stream } from "effect"
import type { Readable } from "node:stream"
import type { StorageError } from "../domain/errors.js"
import type { Bucket } from "../services/ObjectStorage.js"
import type { FileChanged } from "./file-stream.js"
import type { InsufficientStorage, SignedUrlRefused } from "./refusals.js"

/** A decimal length or expiry as signed (no sign, no exponent, at most 15 digits). */
export const DECIMAL = /^\d{1,15}$/

// ---- the sidecar ----------------------------------------------------------------------------

export const ObjectMeta = Schema.Struct({
  contentType: Schema.String,
  cacheControl: Schema.NullOr(Schema.String),
  /** Hex MD5 of the bytes, unquoted (S3's ETag for a single-part object). */
  etag: Schema.String,
  bytes: Schema.Int
})
export type ObjectMeta = typeof ObjectMeta.Type
export const decodeMeta = Schema.decodeUnknownOption(Schema.parseJson(ObjectMeta))

// ---- the local service the routes use -------------------------------------------------------

export interface SignedUpload {
  readonly key: string
  readonly contentType: string
  readonly contentLength: number
}

export interface StoredObject {
  readonly bytes: number
  /** Hex MD5, unquoted. */
  readonly etag: string
}

export interface OpenedObject {
  readonly bytes: number
  readonly meta: Option.Option<ObjectMeta>
  /**
   * The bytes, read from a descriptor that exists only while the stream runs (so a HEAD, a 304 or
   * an answer nobody reads holds none). Fails if the file was replaced since it was described.
   */
  readonly stream: Stream.Stream<Uint8Array, PlatformError | FileChanged>
}

/**
 * The disk side that only the embedded server's storage routes need (the rest of the code sees
 * `ObjectStorage`). Provided by `DiskStorageLive` together with `ObjectStorage`.
 */
export class DiskStorage extends Context.Tag("imgpipe/local/DiskStorage")<
  DiskStorage,
  {
    readonly dataDir: string
    /** Checks a PUT URL (signature, then expiry) and returns what it allows. */
    readonly verifyUpload: (input: {
      readonly key: string
      readonly query: Readonly<Record<string, string | ReadonlyArray<string>>>
    }) => Effect.Effect<SignedUpload, SignedUrlRefused>
    /** Checks a GET/HEAD URL (signature, then expiry). */
    readonly verifyDownload: (input: {
      readonly bucket: string
      readonly key: string
      readonly query: Readonly<Record<string, string | ReadonlyArray<string>>>
    }) => Effect.Effect<{ readonly bucket: Bucket; readonly key: string }, SignedUrlRefused>
    /**
     * Streams `body` into a temporary file, refusing it as soon as it exceeds `upload.contentLength`
     * or when it ends short; only a body of exactly that length is linked into place, and then
     * `afterCommit` runs in the same uninterruptible step, so a client hanging up just after the
     * commit cannot skip the notification. One upload per key: `object_exists` when the object is
     * already there (checked before reading, and decided atomically by the commit's link()).
     * The body is never destroyed: the caller `drain`s it after answering.
     */
    readonly receiveRaw: <R>(input: {
      readonly upload: SignedUpload
      /** The request body as Node.js gives it: piped straight to the file, no copy per chunk. */
      readonly body: Readable
      readonly afterCommit: (stored: StoredObject) => Effect.Effect<void, never, R>
    }) => Effect.Effect<StoredObject, SignedUrlRefused | StorageError | InsufficientStorage, R>
    /**
     * Describes an object for serving (size, sidecar, and a stream of its bytes); none when it does
     * not exist. Needs no scope: nothing stays open unless the stream is running.
     */
    readonly open: (bucket: Bucket, key: string) => Effect.Effect<Option.Option<OpenedObject>, StorageError>
  }
>() {}
