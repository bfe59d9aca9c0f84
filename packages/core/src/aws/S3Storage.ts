/**
 * `ObjectStorage` on Amazon S3 (or an S3 emulator at `AWS_ENDPOINT_URL`).
 *
 * - Presigned PUT: signs `content-type` and `content-length` (they appear in `X-Amz-SignedHeaders`),
 *   so S3 itself refuses a body of another type or length. The client is built with
 *   `requestChecksumCalculation: "WHEN_REQUIRED"`: by default SDK v3 adds a CRC32 of the (empty)
 *   body being presigned as `x-amz-checksum-crc32` + `x-amz-sdk-checksum-algorithm`, and S3 then
 *   refuses every real upload with a checksum mismatch.
 * - One upload per URL: the presigned PUT signs `If-None-Match: *` (an S3 conditional write), so S3
 *   refuses it with 412 once the object exists; `upload.headers` tells the client to send it.
 * - Presigned GET: bounded lifetime (S3's own maximum is 7 days).
 * - GET: refuses an object larger than `maxBytes` from `ContentLength` before reading, and counts
 *   the bytes while streaming in case the length was absent or wrong.
 * - Copy: `CopyObject` inside a bucket, metadata copied with the bytes.
 * - Errors: a missing key (`NoSuchKey`, or 404) is `ObjectNotFound`; everything else is a
 *   `StorageError`, which the use cases treat as transient.
 * - Calls and presigning go through `@effect-aws/client-s3`'s `S3Service` (failures tagged with
 *   S3's error code; interruption aborts the request).
 */
import { makeS3Service, S3ClientInstance, S3Service, S3ServiceConfig } from "@effect-aws/client-s3"
import { Clock, Config, Effect, Layer, Option } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { ObjectNotFound, ObjectTooLarge, StorageError } from "../domain/errors.js"
import { isValidExpiresIn, MAX_EXPIRES_IN_SECONDS } from "../domain/rules.js"
import { type Bucket, DISPOSITION_TAG, ObjectStorage } from "../services/ObjectStorage.js"
import {
  type AwsClientConfig,
  awsClientConfig,
  type AwsFailure,
  clientOptions,
  describeAwsError,
  httpStatus,
  thrownFailure
} from "./config.js"
import { isNodeBody, type Read, readAtMost } from "./readAtMost.js"

/** The SDK client under `S3Service` (a test reaches its middleware stack through it, e.g. to count requests). */
export { S3ClientInstance } from "@effect-aws/client-s3"

// ---- configuration --------------------------------------------------------------------------

export interface S3StorageConfig {
  readonly rawBucket: string
  readonly processedBucket: string
  readonly client: AwsClientConfig
}

/** S3 bucket names follow DNS rules; checking early turns a typo into a start-up error. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

const bucketName = (name: string) =>
  Config.string(name).pipe(
    Config.map((value) => value.trim()),
    Config.validate({ message: `${name} must be an S3 bucket name`, validation: (value) => BUCKET_NAME.test(value) })
  )

export const s3StorageConfig: Config.Config<S3StorageConfig> = Config.all({
  rawBucket: bucketName("IMGPIPE_RAW_BUCKET"),
  processedBucket: bucketName("IMGPIPE_PROCESSED_BUCKET"),
  client: awsClientConfig
})

// ---- the client -----------------------------------------------------------------------------

/** `@effect-aws`'s S3 client settings for `AwsClientConfig`. */
export const s3ClientOptions = (config: AwsClientConfig): S3Service.Config => ({
  ...clientOptions(config),
  // `<bucket>.<emulator-host>` does not resolve; real S3 keeps virtual-hosted style.
  forcePathStyle: Option.isSome(config.endpoint),
  // See the module comment: no default checksums, so presigned PUTs carry none.
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED"
})

/**
 * `S3Service` over one `S3Client` for the life of the layer (a runtime shares its connection pool;
 * its sockets are closed when the layer is released). The client itself is provided too.
 */
export const S3ClientLive: Layer.Layer<S3Service | S3ClientInstance.S3ClientInstance, ConfigError> = Layer.unwrapEffect(
  Effect.map(awsClientConfig, (config) =>
    Layer.effect(S3Service, makeS3Service).pipe(
      Layer.provideMerge(S3ClientInstance.layer),
      Layer.provide(S3ServiceConfig.setS3ServiceConfig(s3ClientOptions(config)))
    ))
)

// ---- implementation -------------------------------------------------------------------------

/**
 * Headers the presigned PUT pins: S3 then refuses any other value, or a request without them.
 * `if-none-match: *` makes the PUT a conditional write: S3 refuses it (412) once the key exists, so
 * an upload URL is good for one upload and cannot overwrite a stored (or rejected) original.
 */
const PINNED_UPLOAD_HEADERS = ["content-type", "content-length", "if-none-match"] as const

/**
 * The key does not exist: `NoSuchKey` (GET, tagging), `NotFound` (HEAD has no error body), or a bare
 * 404. A missing bucket is a 404 too but a configuration problem, so it stays a `StorageError`
 * where S3 says so.
 */
const isNotFound = (error: AwsFailure): boolean =>
  error._tag !== "NoSuchBucket" && !("Code" in error && error.Code === "NoSuchBucket") &&
  (error._tag === "NoSuchKey" || error._tag === "NotFound" || httpStatus(error) === 404)

/** `CopyObject`'s `CopySource`: `<bucket>/<key>`, the key URL-encoded segment by segment. */
const copySource = (bucket: string, key: string) => `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`

export const makeS3Storage = (s3: S3Service.Type, config: S3StorageConfig): ObjectStorage["Type"] => {
  const bucketOf = (bucket: Bucket): string => (bucket === "raw" ? config.rawBucket : config.processedBucket)

  const storageError = (operation: string, key: string) => (error: AwsFailure) =>
    new StorageError({ operation, key, message: describeAwsError(error) })

  const checkExpiry = (operation: string, key: string, expiresInSeconds: number) =>
    isValidExpiresIn(expiresInSeconds)
      ? Effect.void
      : Effect.fail(
        new StorageError({
          operation,
          key,
          message: `expiresInSeconds must be an integer in 1..${MAX_EXPIRES_IN_SECONDS}`
        })
      )

  /** When a URL signed now for `seconds` stops working (signing happens after this reading). */
  const expiry = (seconds: number) => Effect.map(Clock.currentTimeMillis, (now) => new Date(now + seconds * 1000))

  return {
    presignUpload: (input) =>
      Effect.gen(function* () {
        yield* checkExpiry("presignUpload", input.key, input.expiresInSeconds)
        if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
          return yield* new StorageError({
            operation: "presignUpload",
            key: input.key,
            message: "contentLength must be a whole number of bytes"
          })
        }
        const expiresAt = yield* expiry(input.expiresInSeconds)
        const url = yield* s3.putObject(
          {
            Bucket: config.rawBucket,
            Key: input.key,
            ContentType: input.contentType,
            ContentLength: input.contentLength,
            IfNoneMatch: "*"
          },
          {
            presigned: true,
            expiresIn: input.expiresInSeconds,
            // The presigner treats content-type as unsignable unless told otherwise; all stay
            // headers (not query parameters) so the client's real request is what is checked
            // (S3 reads If-None-Match from the header only).
            signableHeaders: new Set(PINNED_UPLOAD_HEADERS),
            unhoistableHeaders: new Set(PINNED_UPLOAD_HEADERS)
          }
        ).pipe(Effect.mapError(storageError("presignUpload", input.key)))
        return {
          method: "PUT" as const,
          url,
          // content-length is signed too, but clients (fetch, curl) set it from the body and many
          // refuse to let a caller set it: listing it here would only confuse.
          headers: { "content-type": input.contentType, "if-none-match": "*" },
          expiresAt
        }
      }).pipe(Effect.withSpan("S3.presignUpload")),

    presignDownload: (input) =>
      Effect.gen(function* () {
        yield* checkExpiry("presignDownload", input.key, input.expiresInSeconds)
        const expiresAt = yield* expiry(input.expiresInSeconds)
        const url = yield* s3.getObject({ Bucket: bucketOf(input.bucket), Key: input.key }, {
          presigned: true,
          expiresIn: input.expiresInSeconds
        }).pipe(Effect.mapError(storageError("presignDownload", input.key)))
        return { url, expiresAt }
      }).pipe(Effect.withSpan("S3.presignDownload")),

    head: (bucket, key) =>
      s3.headObject({ Bucket: bucketOf(bucket), Key: key }).pipe(
        Effect.map((out) =>
          Option.some({ bytes: out.ContentLength ?? 0, contentType: Option.fromNullable(out.ContentType) })
        ),
        Effect.catchAll((error) =>
          isNotFound(error) ? Effect.succeed(Option.none()) : Effect.fail(storageError("head", key)(error))
        ),
        Effect.withSpan("S3.head", { attributes: { bucket, key } })
      ),

    get: (input) =>
      s3.getObject({ Bucket: bucketOf(input.bucket), Key: input.key }).pipe(
        Effect.mapError((error) =>
          isNotFound(error)
            ? new ObjectNotFound({ bucket: bucketOf(input.bucket), key: input.key })
            : storageError("get", input.key)(error)
        ),
        Effect.flatMap((out) =>
          Effect.tryPromise({
            try: async (): Promise<Read> => {
              const body: unknown = out.Body
              if (!isNodeBody(body)) throw new Error("GetObject returned no readable body")
              // The declared length refuses an oversized object before a byte is read.
              if (out.ContentLength !== undefined && out.ContentLength > input.maxBytes) {
                body.destroy?.()
                return { _tag: "TooLarge" }
              }
              return readAtMost(body, input.maxBytes)
            },
            catch: (error) => storageError("get", input.key)(thrownFailure(error))
          })
        ),
        Effect.flatMap((read) =>
          read._tag === "Bytes"
            ? Effect.succeed(read.bytes)
            : Effect.fail(new ObjectTooLarge({ key: input.key, limit: input.maxBytes }))
        ),
        Effect.withSpan("S3.get", { attributes: { bucket: input.bucket, key: input.key } })
      ),

    put: (input) =>
      s3.putObject({
        Bucket: bucketOf(input.bucket),
        Key: input.key,
        Body: input.body,
        ContentLength: input.body.byteLength,
        ContentType: input.contentType,
        CacheControl: input.cacheControl
      }).pipe(
        Effect.mapError(storageError("put", input.key)),
        Effect.asVoid,
        Effect.withSpan("S3.put", { attributes: { bucket: input.bucket, key: input.key } })
      ),

    // Server side, in one request; the metadata (Content-Type, Cache-Control) goes with the bytes
    // (the default `MetadataDirective: COPY`). Our own bucket: no conditional write needed.
    copy: (input) =>
      s3.copyObject({
        Bucket: bucketOf(input.bucket),
        Key: input.toKey,
        CopySource: copySource(bucketOf(input.bucket), input.fromKey)
      }).pipe(
        Effect.mapError((error) =>
          isNotFound(error)
            ? new ObjectNotFound({ bucket: bucketOf(input.bucket), key: input.fromKey })
            : storageError("copy", input.toKey)(error)
        ),
        Effect.asVoid,
        Effect.withSpan("S3.copy", { attributes: { bucket: input.bucket, from: input.fromKey, key: input.toKey } })
      ),

    // S3 answers 204 for a missing key as well, so deleting twice succeeds as the interface says.
    delete: (bucket, key) =>
      s3.deleteObject({ Bucket: bucketOf(bucket), Key: key }).pipe(
        Effect.mapError(storageError("delete", key)),
        Effect.asVoid,
        Effect.withSpan("S3.delete", { attributes: { bucket, key } })
      ),

    // The tag set is replaced whole (raw objects carry no other tags). A missing key is no error:
    // an original already deleted needs no expiry.
    markOriginal: (key, disposition) =>
      Option.match(disposition, {
        onNone: () => s3.deleteObjectTagging({ Bucket: config.rawBucket, Key: key }),
        onSome: (value) =>
          s3.putObjectTagging({
            Bucket: config.rawBucket,
            Key: key,
            Tagging: { TagSet: [{ Key: DISPOSITION_TAG, Value: value }] }
          })
      }).pipe(
        Effect.asVoid,
        Effect.catchAll((error) =>
          isNotFound(error) ? Effect.void : Effect.fail(storageError("markOriginal", key)(error))
        ),
        Effect.withSpan("S3.markOriginal", {
          attributes: { key, disposition: Option.getOrElse(disposition, () => "none") }
        })
      )
  }
}

/** `ObjectStorage` on `S3Service`, buckets from `IMGPIPE_RAW_BUCKET` / `IMGPIPE_PROCESSED_BUCKET`. */
export const S3StorageFromClient: Layer.Layer<ObjectStorage, ConfigError, S3Service> = Layer.effect(
  ObjectStorage,
  Effect.gen(function* () {
    const client = yield* S3Service
    const config = yield* s3StorageConfig
    return makeS3Storage(client, config)
  })
)

/** `ObjectStorage` on S3 with its own client (the usual choice of a runtime's `layers.ts`). */
export const S3StorageLive: Layer.Layer<ObjectStorage | S3Service | S3ClientInstance.S3ClientInstance, ConfigError> =
  S3StorageFromClient.pipe(
    Layer.provideMerge(S3ClientLive)
  )
