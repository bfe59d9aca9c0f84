/**
 * Embedded-mode object storage: the local disk stands in for the two S3 buckets, and the same HTTP
 * server that runs the API serves HMAC-signed, expiring URLs in place of S3's presigned ones (its
 * routes live with the embedded runner, `packages/local/src/storage-routes.ts`).
 *
 * Layout under `IMGPIPE_DATA_DIR`:
 *   objects/raw/<key>                     the object's bytes
 *   objects/raw/<key>.meta.json           Content-Type, Cache-Control, ETag (the sidecar)
 *   objects/processed/<uuid>/<size>       (and its `.meta.json`)
 *   signing-secret                        HMAC key, 0600, when IMGPIPE_SIGNING_SECRET is unset
 *
 * This module composes the pieces beside it into `ObjectStorage` and `DiskStorage`:
 * `signed-urls.ts` (signing and checking URLs), `object-files.ts` (atomic, durable object files),
 * `receive.ts` (an upload body to a file, metered), `file-stream.ts` (download bodies),
 * `signing-secret.ts` (the HMAC key), `sweep.ts` (start-up temp sweep), `keys.ts` (keys and paths),
 * `refusals.ts` (refusal codes), `disk-service.ts` (the `DiskStorage` tag the routes use).
 */
import { FileSystem } from "@effect/platform"
import { Config, Context, Effect, Layer, Option, type Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import * as NodePath from "node:path"
import type { Readable } from "node:stream"
import { dataDirConfig, portConfig } from "../config/runtime.js"
import { ObjectNotFound, StorageError } from "../domain/errors.js"
import { type ObjectInfo, ObjectStorage } from "../services/ObjectStorage.js"
import { isHttpUrl } from "../util/url.js"
import { DiskStorage, type OpenedObject, type SignedUpload, type StoredObject } from "./disk-service.js"
import { fileStream } from "./file-stream.js"
import { copyBytes, makeObjectFiles, storageFailure, writeBytes, writeFailure } from "./object-files.js"
import { receiveBody } from "./receive.js"
import { type InsufficientStorage, objectExists, SignedUrlRefused } from "./refusals.js"
import { makeUrlSigner } from "./signed-urls.js"
import { resolveSigningSecret, signingSecretConfig } from "./signing-secret.js"
import { sweepTemporaries } from "./sweep.js"

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
  dataDir: dataDirConfig,
  publicUrl: Config.all({
    explicit: Config.option(Config.string("IMGPIPE_PUBLIC_URL")),
    // The server's own port (the runner reads the same variable), so `PORT` alone keeps the
    // signed links pointing at the server that answers them.
    port: portConfig
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
  signingSecret: signingSecretConfig
})

// ---- what the routes see (re-exported: the layer and the tag it provides in one import) -------

export { DiskStorage, type OpenedObject, type SignedUpload, type StoredObject } from "./disk-service.js"

// ---- implementation -------------------------------------------------------------------------

const makeDiskStorage = (config: DiskStorageConfig) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dataDir = NodePath.resolve(config.dataDir)
    const files = yield* makeObjectFiles(fs, dataDir)
    // Temporaries a crash left behind, in the background (a big store takes a while to walk). The
    // cut-off is the wall clock, as file times are: whatever is written from now on is never swept.
    const startedAt = Date.now()
    yield* Effect.forkScoped(sweepTemporaries(dataDir, startedAt))
    const secret = yield* resolveSigningSecret(config.signingSecret, fs, dataDir)
    const signer = makeUrlSigner({ secret, publicUrl: config.publicUrl })

    const open: DiskStorage["Type"]["open"] = (bucket, key) =>
      files.describeFile("open", bucket, key).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeed(Option.none<OpenedObject>()),
            onSome: ({ identity, target }) =>
              files.readMeta(target).pipe(
                Effect.mapError((error) => storageFailure("open", key, error)),
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
        const target = yield* files.objectPath("upload", "raw", upload.key)
        const exists = yield* fs.exists(target).pipe(
          Effect.mapError((error) => writeFailure("upload", upload.key, error))
        )
        if (exists) return yield* objectExists()
        return yield* files.writeObject({
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
      presignUpload: signer.signUpload,
      presignDownload: signer.signDownload,

      head: (bucket, key) =>
        Effect.scoped(
          files.openFile("head", bucket, key).pipe(
            Effect.flatMap(
              Option.match({
                onNone: () => Effect.succeed(Option.none<ObjectInfo>()),
                onSome: ({ bytes, target }) =>
                  files.readMeta(target).pipe(
                    Effect.mapError((error) => storageFailure("head", key, error)),
                    Effect.map((meta) =>
                      Option.some<ObjectInfo>({ bytes, contentType: Option.map(meta, (m) => m.contentType) })
                    )
                  )
              })
            )
          )
        ),

      get: files.readObject,

      put: (input) =>
        files.writeObject({
          operation: "put",
          bucket: input.bucket,
          key: input.key,
          mode: "replace",
          contentType: input.contentType,
          cacheControl: input.cacheControl,
          afterCommit: () => Effect.void,
          write: (path) =>
            Effect.tryPromise({
              try: () => writeBytes(path, input.body),
              catch: (error) => storageFailure("put", input.key, error)
            })
        }).pipe(
          Effect.asVoid,
          // The service's callers (processing) retry any storage failure; a full disk is one.
          Effect.catchTags({
            InsufficientStorage: ({ key, message, operation }) =>
              Effect.fail(new StorageError({ operation, key, message })),
            // `replace` never refuses; kept for the type.
            SignedUrlRefused: (error) => Effect.fail(storageFailure("put", input.key, error))
          })
        ),

      // A file copy committed like a put (temporary, fsync, rename), with the source's sidecar
      // metadata; a source that vanishes meanwhile is `ObjectNotFound` as well.
      copy: ({ bucket, fromKey, toKey }) =>
        Effect.gen(function* () {
          const source = yield* files.describeFile("copy", bucket, fromKey)
          if (Option.isNone(source)) return yield* new ObjectNotFound({ bucket, key: fromKey })
          const { target } = source.value
          const meta = yield* files.readMeta(target).pipe(Effect.mapError((e) => storageFailure("copy", fromKey, e)))
          yield* files.writeObject({
            operation: "copy",
            bucket,
            key: toKey,
            mode: "replace",
            contentType: Option.match(meta, { onNone: () => "application/octet-stream", onSome: (m) => m.contentType }),
            cacheControl: Option.match(meta, { onNone: () => null, onSome: (m) => m.cacheControl }),
            afterCommit: () => Effect.void,
            write: (path) =>
              Effect.tryPromise({
                try: () => copyBytes(target, path),
                catch: (error) =>
                  (error as NodeJS.ErrnoException).code === "ENOENT"
                    ? new ObjectNotFound({ bucket, key: fromKey })
                    : writeFailure("copy", toKey, error)
              })
          })
        }).pipe(
          Effect.asVoid,
          Effect.catchTags({
            InsufficientStorage: ({ key, message, operation }) =>
              Effect.fail(new StorageError({ operation, key, message })),
            SignedUrlRefused: (error) => Effect.fail(storageFailure("copy", toKey, error))
          })
        ),

      delete: files.removeObject,

      // No lifecycle here to act on a mark: the embedded runner keeps refused and dead-lettered
      // originals until someone deletes its data directory (docs/embedded.md).
      markOriginal: () => Effect.void
    }

    const disk: DiskStorage["Type"] = {
      dataDir,
      verifyUpload: signer.verifyUpload,
      verifyDownload: signer.verifyDownload,
      receiveRaw,
      open
    }
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
 * `http://localhost:$PORT`) and `IMGPIPE_SIGNING_SECRET`; also provides `DiskStorage` for the
 * embedded runner's storage routes. Needs a `FileSystem` (`NodeFileSystem.layer`, or
 * `NodeContext.layer`).
 */
export const DiskStorageLive: Layer.Layer<
  ObjectStorage | DiskStorage,
  ConfigError | StorageError,
  FileSystem.FileSystem
> = Layer.unwrapEffect(Effect.map(diskStorageConfig, diskStorageLayer))
