/**
 * Embedded-mode object storage: the local disk stands in for the two S3 buckets, and the same HTTP
 * server that runs the API serves HMAC-signed, expiring URLs in place of S3's presigned ones.
 *
 * Layout under `IMGPIPE_DATA_DIR`:
 *   objects/raw/<key>                     the object's bytes
 *   objects/raw/<key>.meta.json           Content-Type, Cache-Control, ETag (the sidecar)
 *   objects/processed/<uuid>/<size>       (and its `.meta.json`)
 *   signing-secret                        HMAC key, 0600, when IMGPIPE_SIGNING_SECRET is unset
 *
 * Keys contain no `.`, so sidecars (`*.meta.json`) and temporary files (`*.<hex>.tmp`) can never
 * collide with an object, and no key can climb out of its bucket folder.
 *
 * Signed URLs (query parameters are signed with HMAC-SHA256, compared in constant time):
 *   PUT {publicUrl}/storage/raw/<key>?content_type=…&content_length=…&expires=<unix s>&sig=<hex>
 *   GET {publicUrl}/storage/<bucket>/<key>?expires=<unix s>&sig=<hex>          (HEAD too)
 * Canonical string (fields joined by "\n"; none of them can contain a newline):
 *   imgpipe-storage-v1 \n <METHOD> \n <bucket> \n <key> \n <expires> \n <content-type> \n <content-length>
 * with content type and length empty for GET. The signed type and length travel in the query so the
 * server can tell a tampered URL (`signature_mismatch`) from a client sending another type or length
 * (`content_type_mismatch`, `content_length_mismatch`), which is what the API contract promises.
 *
 * Modules beside this one: `disk-service.ts` (the `DiskStorage` tag the routes use),
 * `storage-routes.ts` (the HTTP routes), `refusals.ts` (codes and statuses), `receive.ts` (the
 * upload body to a file), `file-stream.ts` (download bodies), `sweep.ts` (start-up temp sweep),
 * `signing-secret.ts` (the generated HMAC key).
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Config, Context, Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import type { Scope } from "effect/Scope"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"
import type { Readable } from "node:stream"
import { ObjectNotFound, ObjectTooLarge, StorageError } from "../domain/errors.js"
import {
  type Bucket,
  type ObjectInfo,
  ObjectStorage,
  type PresignedDownload,
  type PresignedUpload
} from "../services/ObjectStorage.js"
import { isHttpUrl } from "../util/url.js"
import {
  decodeMeta,
  DECIMAL,
  DiskStorage,
  normalizeContentType,
  type ObjectMeta,
  type OpenedObject,
  type SignedUpload,
  type StoredObject
} from "./disk-service.js"
import { loadOrCreateSecret } from "./signing-secret.js"
import { receiveBody } from "./receive.js"
import { sweepTemporaries } from "./sweep.js"
import {
  InsufficientStorage,
  isDiskFull,
  objectExists,
  refuse,
  SignedUrlRefused
} from "./refusals.js"
import { type FileIdentity, fileStream, identityOf } from "./file-stream.js"

// ---- configuration --------------------------------------------------------------------------

export interface DiskStorageConfig {
  /** Root of the embedded data (made absolute when the layer starts). */
  readonly dataDir: string
  /** Base of the signed links, without a trailing slash (default `http://localhost:$PORT`). */
  readonly publicUrl: string
  /** HMAC key; none means "generate once and keep it in `<dataDir>/signing-secret`". */
  readonly signingSecret: Option.Option<Redacted.Redacted<string>>
}

export const diskStorageConfig: Config.Config<DiskStorageConfig> = Config.all({
  dataDir: Config.string("IMGPIPE_DATA_DIR").pipe(Config.withDefault("./.imgpipe")),
  publicUrl: Config.all({
    explicit: Config.option(Config.string("IMGPIPE_PUBLIC_URL")),
    // The server's own port (the runner reads the same variable), so `PORT` alone keeps the
    // signed links pointing at the server that answers them.
    port: Config.integer("PORT").pipe(Config.withDefault(3000))
  }).pipe(
    Config.map(({ explicit, port }) =>
      explicit.pipe(
        // An empty variable (common in compose files) means "not set".
        Option.map((url) => url.trim()),
        Option.filter((url) => url.length > 0),
        Option.getOrElse(() => `http://localhost:${port}`)
      )
    ),
    Config.validate({ message: "IMGPIPE_PUBLIC_URL must be an http(s) URL", validation: isHttpUrl }),
    Config.map((url) => url.replace(/\/+$/, ""))
  ),
  signingSecret: Config.option(Config.redacted("IMGPIPE_SIGNING_SECRET")).pipe(
    // An empty variable (common in compose files) means "not set", not "sign with the empty key".
    Config.map(Option.filter((secret) => Redacted.value(secret).length > 0)),
    Config.validate({
      message: "IMGPIPE_SIGNING_SECRET must be at least 16 characters",
      validation: Option.match({ onNone: () => true, onSome: (secret) => Redacted.value(secret).length >= 16 })
    })
  )
})

// ---- keys and paths -------------------------------------------------------------------------

/**
 * `<segment>` or `<segment>/<segment>` from `[A-Za-z0-9_-]`: covers `<uuid>` and `<uuid>/<size>`,
 * and leaves no way to write `..`, an absolute path, a sidecar name or a temporary file name.
 */
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}(?:\/[A-Za-z0-9][A-Za-z0-9_-]{0,63})?$/

export const isValidKey = (key: string): boolean => KEY_PATTERN.test(key)

const isBucket = (value: string | undefined): value is Bucket => value === "raw" || value === "processed"

const META_SUFFIX = ".meta.json"

/** S3's presigned URLs live at most 7 days; the same bound keeps a leaked link from living forever. */
const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600

// ---- what the routes see, and the routes (re-exported: one import for a runner) -------------

export { InsufficientStorage, RefusalCode, SignedUrlRefused } from "./refusals.js"
export {
  DiskStorage,
  type OpenedObject,
  type RawObjectCreated,
  type SignedUpload,
  type StoredObject
} from "./disk-service.js"
export { makeStorageRouter } from "./storage-routes.js"

// ---- implementation -------------------------------------------------------------------------

interface OpenFile {
  readonly file: FileSystem.File
  readonly target: string
  readonly bytes: number
}

const canonicalString = (fields: {
  readonly method: "PUT" | "GET"
  readonly bucket: Bucket
  readonly key: string
  readonly expires: number
  readonly contentType: string
  readonly contentLength: string
}): string =>
  [
    "imgpipe-storage-v1",
    fields.method,
    fields.bucket,
    fields.key,
    String(fields.expires),
    fields.contentType,
    fields.contentLength
  ].join("\n")


/** Printable ASCII only: keeps the canonical string unambiguous and the value a legal header. */
const isSafeContentType = (value: string): boolean => value.length > 0 && value.length <= 255 && /^[\x20-\x7e]+$/.test(value)


const singleParam = (
  query: Readonly<Record<string, string | ReadonlyArray<string>>>,
  name: string
): Option.Option<string> => {
  const value = query[name]
  return typeof value === "string" ? Option.some(value) : Option.none()
}

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

const encodeKeyForPath = (key: string): string => key.split("/").map(encodeURIComponent).join("/")

const storageFailure = (operation: string, key: string, error: unknown) =>
  new StorageError({ operation, key, message: error instanceof Error ? error.message : String(error) })

/** A failed write: the disk (or quota) is full, or another file system failure. */
const writeFailure = (operation: string, key: string, error: unknown): StorageError | InsufficientStorage =>
  isDiskFull(error)
    ? new InsufficientStorage({ operation, key, message: error instanceof Error ? error.message : String(error) })
    : storageFailure(operation, key, error)

const makeDiskStorage = (config: DiskStorageConfig) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dataDir = NodePath.resolve(config.dataDir)
    const objectsDir = NodePath.join(dataDir, "objects")

    const storageError = (operation: string, key: string) => (error: PlatformError) =>
      storageFailure(operation, key, error)

    const invalidKey = (operation: string, key: string) =>
      new StorageError({ operation, key, message: "invalid object key (expected <id> or <id>/<name>)" })

    /** The object's path; fails for a key that is not ours, and re-checks that it stays in the bucket. */
    const objectPath = (operation: string, bucket: Bucket, key: string): Effect.Effect<string, StorageError> => {
      if (!isValidKey(key)) return Effect.fail(invalidKey(operation, key))
      const bucketDir = NodePath.join(objectsDir, bucket)
      const path = NodePath.resolve(bucketDir, ...key.split("/"))
      return path.startsWith(bucketDir + NodePath.sep) ? Effect.succeed(path) : Effect.fail(invalidKey(operation, key))
    }

    const tempPath = (target: string) => `${target}.${randomBytes(8).toString("hex")}.tmp`

    yield* fs.makeDirectory(NodePath.join(objectsDir, "raw"), { recursive: true }).pipe(
      Effect.zipRight(fs.makeDirectory(NodePath.join(objectsDir, "processed"), { recursive: true })),
      Effect.mapError(storageError("init", dataDir))
    )
    // Temporaries a crash left behind, in the background (a big store takes a while to walk). The
    // cut-off is the wall clock, as file times are: whatever is written from now on is never swept.
    const startedAt = Date.now()
    yield* Effect.forkScoped(sweepTemporaries(dataDir, startedAt))

    const secret = yield* Option.match(config.signingSecret, {
      onSome: (value) => Effect.succeed(Redacted.make(Buffer.from(Redacted.value(value), "utf8"))),
      onNone: () => loadOrCreateSecret(fs, dataDir)
    })

    const sign = (canonical: string): Buffer => createHmac("sha256", Redacted.value(secret)).update(canonical).digest()

    const expiresAt = (operation: string, key: string, expiresInSeconds: number) =>
      Effect.gen(function* () {
        if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0 || expiresInSeconds > MAX_EXPIRES_IN_SECONDS) {
          return yield* new StorageError({
            operation,
            key,
            message: `expiresInSeconds must be an integer in 1..${MAX_EXPIRES_IN_SECONDS}`
          })
        }
        const now = yield* Clock.currentTimeMillis
        // Rounded up so a URL lives at least as long as asked.
        return Math.ceil(now / 1000 + expiresInSeconds)
      })

    type Query = Readonly<Record<string, string | ReadonlyArray<string>>>

    /**
     * Checks `sig` against the canonical string of the fields the URL claims (none when the URL is
     * malformed: a URL we never signed). Signature first, in constant time; expiry second, so a
     * forged `expires` is reported as a forgery, not as an expiry.
     */
    const verify = <A extends { readonly expires: number }>(
      fields: Option.Option<A>,
      canonical: (fields: A) => string,
      query: Query
    ): Effect.Effect<A, SignedUrlRefused> =>
      Effect.gen(function* () {
        const mismatch = refuse("signature_mismatch", "the URL's signature does not match; request a new URL")
        const sig = singleParam(query, "sig").pipe(Option.filter((value) => /^[0-9a-fA-F]{64}$/.test(value)))
        if (Option.isNone(fields) || Option.isNone(sig)) return yield* mismatch
        if (!timingSafeEqual(Buffer.from(sig.value, "hex"), sign(canonical(fields.value)))) return yield* mismatch
        const now = yield* Clock.currentTimeMillis
        if (now > fields.value.expires * 1000) {
          return yield* refuse("url_expired", "the URL has expired; request a new one")
        }
        return fields.value
      })

    const parseExpires = (query: Query) =>
      singleParam(query, "expires").pipe(
        Option.filter((value) => DECIMAL.test(value)),
        Option.map(Number)
      )

    const verifyUpload: DiskStorage["Type"]["verifyUpload"] = ({ key, query }) =>
      verify(
        Option.all({
          key: Option.some(key).pipe(Option.filter(isValidKey)),
          expires: parseExpires(query),
          contentType: singleParam(query, "content_type").pipe(Option.filter(isSafeContentType)),
          // Kept as the string that was signed: "0100" must not verify a URL signed for "100".
          contentLength: singleParam(query, "content_length").pipe(Option.filter((value) => DECIMAL.test(value)))
        }),
        (fields) => canonicalString({ method: "PUT", bucket: "raw", ...fields }),
        query
      ).pipe(Effect.map((fields) => ({ ...fields, contentLength: Number(fields.contentLength) })))

    const verifyDownload: DiskStorage["Type"]["verifyDownload"] = ({ bucket, key, query }) =>
      verify(
        Option.all({
          bucket: Option.some(bucket).pipe(Option.filter(isBucket)),
          key: Option.some(key).pipe(Option.filter(isValidKey)),
          expires: parseExpires(query)
        }),
        (fields) => canonicalString({ method: "GET", ...fields, contentType: "", contentLength: "" }),
        query
      ).pipe(Effect.map(({ bucket, key }) => ({ bucket, key })))

    const removeQuietly = (...paths: ReadonlyArray<string>) =>
      Effect.forEach(paths, (path) => fs.remove(path, { force: true }).pipe(Effect.ignore), { discard: true })

    /**
     * Writes an object so readers never see half of it: the bytes go to a temporary file in the same
     * folder (so the rename stays on one file system and is atomic) and are fsynced, then committed.
     * On failure or interruption the temporaries are removed and the previous object, if any, is
     * untouched. `afterCommit` runs in the same uninterruptible step as the commit.
     *
     * - `replace` (renditions): the sidecar is renamed into place, then the bytes. An overwrite has a
     *   sub-millisecond window where the new sidecar sits next to the old bytes; renditions are only
     *   overwritten with the same kind of content, so it is harmless.
     * - `create` (uploads, one per URL): the bytes are hard-linked into place, which fails if the
     *   object exists, so of two writers exactly one wins (the other gets `object_exists`); then the
     *   sidecar is renamed next to them (a failure there takes the bytes back out).
     */
    const writeObject = <E, R>(input: {
      readonly operation: string
      readonly bucket: Bucket
      readonly key: string
      readonly mode: "replace" | "create"
      readonly contentType: string
      readonly cacheControl: string | null
      /**
       * Writes the bytes to the new file at `path` (created exclusively), fsyncs them and returns
       * their count and MD5 (the ETag, as S3 computes it for a single-part upload).
       */
      readonly write: (path: string) => Effect.Effect<StoredObject, E | StorageError | InsufficientStorage>
      readonly afterCommit: (stored: StoredObject) => Effect.Effect<void, never, R>
    }): Effect.Effect<StoredObject, E | StorageError | InsufficientStorage | SignedUrlRefused, R> =>
      Effect.gen(function* () {
        const target = yield* objectPath(input.operation, input.bucket, input.key)
        yield* fs.makeDirectory(NodePath.dirname(target), { recursive: true }).pipe(
          Effect.mapError((error) => writeFailure(input.operation, input.key, error))
        )
        const dataTemp = tempPath(target)
        const metaTemp = tempPath(target)
        const commit = (stored: StoredObject) =>
          Effect.tryPromise({
            try: async () => {
              const meta: ObjectMeta = {
                contentType: input.contentType,
                cacheControl: input.cacheControl,
                etag: stored.etag,
                bytes: stored.bytes
              }
              await NodeFs.writeFile(metaTemp, JSON.stringify(meta), { flag: "wx" })
              if (input.mode === "replace") {
                await NodeFs.rename(metaTemp, target + META_SUFFIX)
                await NodeFs.rename(dataTemp, target)
                return
              }
              try {
                await NodeFs.link(dataTemp, target)
              } catch (error) {
                if ((error as NodeJS.ErrnoException).code === "EEXIST") throw objectExists()
                throw error
              }
              try {
                await NodeFs.rename(metaTemp, target + META_SUFFIX)
              } catch (error) {
                await NodeFs.rm(target, { force: true })
                throw error
              }
            },
            catch: (error) =>
              error instanceof SignedUrlRefused ? error : writeFailure(input.operation, input.key, error)
          })
        // Writing may be interrupted (a client hanging up); committing and notifying may not.
        // The upload is acknowledged (and processing starts) only once the bytes are durable.
        return yield* Effect.uninterruptibleMask((restore) =>
          restore(input.write(dataTemp)).pipe(
            Effect.tap(commit),
            Effect.tap(input.afterCommit),
            // After a `create` the temporary name is still a link to the bytes: removed either way.
            Effect.ensuring(removeQuietly(dataTemp, metaTemp))
          )
        )
      })

    const readMeta = (target: string): Effect.Effect<Option.Option<ObjectMeta>, PlatformError> =>
      fs.readFileString(target + META_SUFFIX).pipe(
        Effect.map(decodeMeta),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none()))
      )

    /** Opens the object's file; none when it is missing (or is a folder of `<id>/<size>` objects). */
    const openFile = (
      operation: string,
      bucket: Bucket,
      key: string
    ): Effect.Effect<Option.Option<OpenFile>, StorageError, Scope> =>
      Effect.gen(function* () {
        const target = yield* objectPath(operation, bucket, key)
        return yield* fs.open(target, { flag: "r" }).pipe(
          Effect.flatMap((file) =>
            file.stat.pipe(
              Effect.map((info) =>
                info.type === "File" ? Option.some({ file, target, bytes: Number(info.size) }) : Option.none<OpenFile>()
              )
            )
          ),
          // ENOTDIR (BadResource): `<id>/<size>` asked where `<id>` is an object, not a folder.
          Effect.catchIf(
            (error) => error._tag === "SystemError" && (error.reason === "NotFound" || error.reason === "BadResource"),
            () => Effect.succeed(Option.none<OpenFile>())
          ),
          Effect.mapError(storageError(operation, key))
        )
      })

    /** The object's file as it is now (no descriptor is opened); none when it is missing. */
    const describeFile = (
      operation: string,
      bucket: Bucket,
      key: string
    ): Effect.Effect<Option.Option<{ readonly target: string; readonly identity: FileIdentity }>, StorageError> =>
      Effect.gen(function* () {
        const target = yield* objectPath(operation, bucket, key)
        return yield* fs.stat(target).pipe(
          Effect.map((info) =>
            info.type === "File" ? Option.some({ target, identity: identityOf(info) }) : Option.none()
          ),
          // ENOTDIR (BadResource): `<id>/<size>` asked where `<id>` is an object, not a folder.
          Effect.catchIf(
            (error) => error._tag === "SystemError" && (error.reason === "NotFound" || error.reason === "BadResource"),
            () => Effect.succeed(Option.none())
          ),
          Effect.mapError(storageError(operation, key))
        )
      })

    const open: DiskStorage["Type"]["open"] = (bucket, key) =>
      describeFile("open", bucket, key).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeed(Option.none<OpenedObject>()),
            onSome: ({ identity, target }) =>
              readMeta(target).pipe(
                Effect.mapError(storageError("open", key)),
                Effect.map((meta) =>
                  Option.some<OpenedObject>({
                    bytes: identity.bytes,
                    meta,
                    // Opened only when streamed, and closed when the stream ends however it ends.
                    stream: fileStream(fs, target, identity)
                  })
                )
              )
          })
        )
      )

    const receiveRaw = <R>({
      afterCommit,
      body,
      upload
    }: {
      readonly upload: SignedUpload
      readonly body: Readable
      readonly afterCommit: (stored: StoredObject) => Effect.Effect<void, never, R>
    }): Effect.Effect<StoredObject, SignedUrlRefused | StorageError | InsufficientStorage, R> =>
      Effect.gen(function* () {
        // Refused before a byte is read; the commit's link() still decides a race.
        const target = yield* objectPath("upload", "raw", upload.key)
        const exists = yield* fs.exists(target).pipe(Effect.mapError((error) => writeFailure("upload", upload.key, error)))
        if (exists) return yield* objectExists()
        return yield* writeObject({
          operation: "upload",
          bucket: "raw",
          key: upload.key,
          mode: "create",
          contentType: upload.contentType,
          cacheControl: null,
          afterCommit,
          write: (path) =>
            Effect.tryPromise({
              try: (signal) => receiveBody({ body, path, contentLength: upload.contentLength, signal }),
              catch: (error) => error instanceof SignedUrlRefused ? error : writeFailure("upload", upload.key, error)
            })
        })
      })

    const storage: ObjectStorage["Type"] = {
      presignUpload: (input) =>
        Effect.gen(function* () {
          const contentType = normalizeContentType(input.contentType)
          if (!isValidKey(input.key)) return yield* invalidKey("presignUpload", input.key)
          if (!isSafeContentType(contentType)) {
            return yield* new StorageError({ operation: "presignUpload", key: input.key, message: "invalid content type" })
          }
          if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
            return yield* new StorageError({
              operation: "presignUpload",
              key: input.key,
              message: "contentLength must be a non-negative integer"
            })
          }
          const expires = yield* expiresAt("presignUpload", input.key, input.expiresInSeconds)
          const contentLength = String(input.contentLength)
          const sig = sign(
            canonicalString({ method: "PUT", bucket: "raw", key: input.key, expires, contentType, contentLength })
          ).toString("hex")
          const query = new URLSearchParams({
            content_type: contentType,
            content_length: contentLength,
            expires: String(expires),
            sig
          })
          return {
            method: "PUT",
            url: `${config.publicUrl}/storage/raw/${encodeKeyForPath(input.key)}?${query.toString()}`,
            // Content-Length is signed too, but every HTTP client sets it from the body itself
            // (browsers forbid setting it), so it is not listed. If-None-Match: * is what S3 needs
            // to refuse an overwrite; this storage refuses one anyway (one upload per URL), and
            // asks for the same header so a client has one code path for both.
            headers: { "content-type": contentType, "if-none-match": "*" },
            expiresAt: new Date(expires * 1000)
          } satisfies PresignedUpload
        }),

      presignDownload: (input) =>
        Effect.gen(function* () {
          if (!isValidKey(input.key)) return yield* invalidKey("presignDownload", input.key)
          const expires = yield* expiresAt("presignDownload", input.key, input.expiresInSeconds)
          const sig = sign(
            canonicalString({
              method: "GET",
              bucket: input.bucket,
              key: input.key,
              expires,
              contentType: "",
              contentLength: ""
            })
          ).toString("hex")
          const query = new URLSearchParams({ expires: String(expires), sig })
          return {
            url: `${config.publicUrl}/storage/${input.bucket}/${encodeKeyForPath(input.key)}?${query.toString()}`,
            expiresAt: new Date(expires * 1000)
          } satisfies PresignedDownload
        }),

      head: (bucket, key) =>
        Effect.scoped(
          openFile("head", bucket, key).pipe(
            Effect.flatMap(
              Option.match({
                onNone: () => Effect.succeed(Option.none<ObjectInfo>()),
                onSome: ({ bytes, target }) =>
                  readMeta(target).pipe(
                    Effect.mapError(storageError("head", key)),
                    Effect.map((meta) =>
                      Option.some<ObjectInfo>({ bytes, contentType: Option.map(meta, (m) => m.contentType) })
                    )
                  )
              })
            )
          )
        ),

      get: ({ bucket, key, maxBytes }) =>
        Effect.scoped(
          Effect.gen(function* () {
            const opened = yield* openFile("get", bucket, key)
            if (Option.isNone(opened)) return yield* new ObjectNotFound({ bucket, key })
            const { bytes, file } = opened.value
            // Decided from the size on the descriptor before reading a byte.
            if (bytes > maxBytes) return yield* new ObjectTooLarge({ key, limit: maxBytes })
            const buffer = new Uint8Array(bytes)
            let offset = 0
            while (offset < bytes) {
              const read = Number(yield* file.read(buffer.subarray(offset)).pipe(Effect.mapError(storageError("get", key))))
              if (read === 0) break
              offset += read
            }
            return offset === bytes ? buffer : buffer.subarray(0, offset)
          })
        ),

      put: (input) =>
        writeObject({
          operation: "put",
          bucket: input.bucket,
          key: input.key,
          mode: "replace",
          contentType: input.contentType,
          cacheControl: input.cacheControl,
          afterCommit: () => Effect.void,
          write: (path) =>
            Effect.tryPromise({
              try: async () => {
                const file = await NodeFs.open(path, "wx")
                try {
                  await file.writeFile(input.body)
                  await file.sync()
                } finally {
                  await file.close()
                }
                return { bytes: input.body.length, etag: createHash("md5").update(input.body).digest("hex") }
              },
              catch: (error) => storageFailure("put", input.key, error)
            })
        }).pipe(
          Effect.asVoid,
          // The service's callers (processing) retry any storage failure; a full disk is one.
          Effect.catchTags({
            InsufficientStorage: ({ key, message, operation }) => Effect.fail(new StorageError({ operation, key, message })),
            // `replace` never refuses; kept for the type.
            SignedUrlRefused: (error) => Effect.fail(storageFailure("put", input.key, error))
          })
        ),

      delete: (bucket, key) =>
        Effect.gen(function* () {
          const target = yield* objectPath("delete", bucket, key)
          // Bytes first: once they are gone the object is gone, whatever happens to the sidecar.
          yield* fs.remove(target, { force: true })
          yield* fs.remove(target + META_SUFFIX, { force: true })
        }).pipe(
          Effect.catchTag("SystemError", (error) =>
            error.reason === "NotFound" || error.reason === "BadResource"
              ? Effect.void
              : Effect.fail(storageError("delete", key)(error))
          ),
          Effect.catchTag("BadArgument", (error) => Effect.fail(storageError("delete", key)(error)))
        ),

      // No lifecycle here to act on a mark: the embedded runner keeps refused and dead-lettered
      // originals until someone deletes its data directory (docs/embedded.md).
      markOriginal: () => Effect.void
    }

    const disk: DiskStorage["Type"] = { dataDir, verifyUpload, verifyDownload, receiveRaw, open }
    return { storage, disk }
  })

/** Disk storage with explicit settings (tests, or a runner that reads its own config). */
export const diskStorageLayer = (
  config: DiskStorageConfig
): Layer.Layer<ObjectStorage | DiskStorage, StorageError, FileSystem.FileSystem> =>
  Layer.scopedContext(
    makeDiskStorage(config).pipe(
      Effect.map(({ disk, storage }) => Context.make(ObjectStorage, storage).pipe(Context.add(DiskStorage, disk)))
    )
  )

/**
 * `ObjectStorage` on the local disk, configured from `IMGPIPE_DATA_DIR`, `IMGPIPE_PUBLIC_URL` (default
 * `http://localhost:$PORT`) and
 * `IMGPIPE_SIGNING_SECRET`; also provides `DiskStorage` for `makeStorageRouter`. Needs a
 * `FileSystem` (`NodeFileSystem.layer`, or `NodeContext.layer`).
 */
export const DiskStorageLive: Layer.Layer<ObjectStorage | DiskStorage, ConfigError | StorageError, FileSystem.FileSystem> =
  Layer.unwrapEffect(Effect.map(diskStorageConfig, diskStorageLayer))

