/**
 * Objects as files under `<dataDir>/objects/<bucket>/<key>`, each with a sidecar
 * `<key>.meta.json` (Content-Type, Cache-Control, ETag, length). Writes are atomic and durable: the
 * bytes go to a temporary file in the same folder, are fsynced, then renamed or linked into place,
 * so a reader never sees half an object and a crash leaves at most a temporary (`sweep.ts`).
 */
import type { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option } from "effect"
import type { Scope } from "effect/Scope"
import { createHash, randomBytes } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"
import { ObjectNotFound, ObjectTooLarge, StorageError } from "../domain/errors.js"
import type { Bucket } from "../services/ObjectStorage.js"
import { decodeMeta, type ObjectMeta, type StoredObject } from "./disk-service.js"
import { type FileIdentity, identityOf } from "./file-stream.js"
import { invalidKey, isValidKey } from "./keys.js"
import { InsufficientStorage, isDiskFull, objectExists, SignedUrlRefused } from "./refusals.js"

const META_SUFFIX = ".meta.json"

export const storageFailure = (operation: string, key: string, error: unknown) =>
  new StorageError({ operation, key, message: error instanceof Error ? error.message : String(error) })

/** A failed write: the disk (or quota) is full, or another file system failure. */
export const writeFailure = (operation: string, key: string, error: unknown): StorageError | InsufficientStorage =>
  isDiskFull(error)
    ? new InsufficientStorage({ operation, key, message: error instanceof Error ? error.message : String(error) })
    : storageFailure(operation, key, error)

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/** ENOTDIR (BadResource): `<id>/<size>` asked where `<id>` is an object, not a folder. */
const isMissing = (error: PlatformError): boolean =>
  error._tag === "SystemError" && (error.reason === "NotFound" || error.reason === "BadResource")

interface OpenFile {
  readonly file: FileSystem.File
  readonly target: string
  readonly bytes: number
}

/** What `writeObject` writes and how it commits. */
export interface WriteRequest<E, R> {
  readonly operation: string
  readonly bucket: Bucket
  readonly key: string
  /**
   * - `replace` (renditions): the sidecar is renamed into place, then the bytes. An overwrite has a
   *   sub-millisecond window where the new sidecar sits next to the old bytes; renditions are only
   *   overwritten with the same kind of content, so it is harmless.
   * - `create` (uploads, one per URL): the bytes are hard-linked into place, which fails if the
   *   object exists, so of two writers exactly one wins (the other gets `object_exists`); then the
   *   sidecar is renamed next to them (a failure there takes the bytes back out).
   */
  readonly mode: "replace" | "create"
  readonly contentType: string
  readonly cacheControl: string | null
  /**
   * Writes the bytes to the new file at `path` (created exclusively), fsyncs them and returns
   * their count and MD5 (the ETag, as S3 computes it for a single-part upload).
   */
  readonly write: (path: string) => Effect.Effect<StoredObject, E | StorageError | InsufficientStorage>
  readonly afterCommit: (stored: StoredObject) => Effect.Effect<void, never, R>
}

/** Writes `body` to the new file `path` (created exclusively) and fsyncs it; returns its length and MD5. */
export const writeBytes = async (path: string, body: Uint8Array): Promise<StoredObject> => {
  const file = await NodeFs.open(path, "wx")
  try {
    await file.writeFile(body)
    await file.sync()
  } finally {
    await file.close()
  }
  return { bytes: body.length, etag: createHash("md5").update(body).digest("hex") }
}

/**
 * Copies the file `source` to the new file `path` (created exclusively) and fsyncs it; returns its
 * length and MD5. Fails with the file system's ENOENT when `source` is gone.
 */
export const copyBytes = async (source: string, path: string): Promise<StoredObject> => {
  await NodeFs.copyFile(source, path, NodeFs.constants.COPYFILE_EXCL)
  const file = await NodeFs.open(path, "r+")
  try {
    const body = await file.readFile()
    await file.sync()
    return { bytes: body.length, etag: createHash("md5").update(body).digest("hex") }
  } finally {
    await file.close()
  }
}

/** The object files under `<dataDir>/objects`; makes the two bucket folders. */
export const makeObjectFiles = (fs: FileSystem.FileSystem, dataDir: string) =>
  Effect.gen(function* () {
    const objectsDir = NodePath.join(dataDir, "objects")
    const storageError = (operation: string, key: string) => (error: PlatformError) =>
      storageFailure(operation, key, error)

    yield* fs.makeDirectory(NodePath.join(objectsDir, "raw"), { recursive: true }).pipe(
      Effect.zipRight(fs.makeDirectory(NodePath.join(objectsDir, "processed"), { recursive: true })),
      Effect.mapError(storageError("init", dataDir))
    )

    /** The object's path; fails for a key that is not ours, and re-checks that it stays in the bucket. */
    const objectPath = (operation: string, bucket: Bucket, key: string): Effect.Effect<string, StorageError> => {
      if (!isValidKey(key)) return Effect.fail(invalidKey(operation, key))
      const bucketDir = NodePath.join(objectsDir, bucket)
      const path = NodePath.resolve(bucketDir, ...key.split("/"))
      return path.startsWith(bucketDir + NodePath.sep) ? Effect.succeed(path) : Effect.fail(invalidKey(operation, key))
    }

    const tempPath = (target: string) => `${target}.${randomBytes(8).toString("hex")}.tmp`

    const removeQuietly = (...paths: ReadonlyArray<string>) =>
      Effect.forEach(paths, (path) => fs.remove(path, { force: true }).pipe(Effect.ignore), { discard: true })

    /**
     * Writes an object so readers never see half of it (see `WriteRequest.mode` for the commit). On
     * failure or interruption the temporaries are removed and the previous object, if any, is
     * untouched. `afterCommit` runs in the same uninterruptible step as the commit.
     */
    const writeObject = <E, R>(
      input: WriteRequest<E, R>
    ): Effect.Effect<StoredObject, E | StorageError | InsufficientStorage | SignedUrlRefused, R> =>
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
          Effect.catchIf(isMissing, () => Effect.succeed(Option.none<OpenFile>())),
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
          Effect.catchIf(isMissing, () => Effect.succeed(Option.none())),
          Effect.mapError(storageError(operation, key))
        )
      })

    /** Reads a whole object, refusing (from the size on the descriptor, before reading a byte) one over `maxBytes`. */
    const readObject = (input: { readonly bucket: Bucket; readonly key: string; readonly maxBytes: number }) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { bucket, key, maxBytes } = input
          const opened = yield* openFile("get", bucket, key)
          if (Option.isNone(opened)) return yield* new ObjectNotFound({ bucket, key })
          const { bytes, file } = opened.value
          if (bytes > maxBytes) return yield* new ObjectTooLarge({ key, limit: maxBytes })
          const buffer = new Uint8Array(bytes)
          let offset = 0
          while (offset < bytes) {
            const read = Number(
              yield* file.read(buffer.subarray(offset)).pipe(Effect.mapError(storageError("get", key)))
            )
            if (read === 0) break
            offset += read
          }
          return offset === bytes ? buffer : buffer.subarray(0, offset)
        })
      )

    /** Removes an object (bytes first, then the sidecar); a missing object is not an error. */
    const removeObject = (bucket: Bucket, key: string): Effect.Effect<void, StorageError> =>
      Effect.gen(function* () {
        const target = yield* objectPath("delete", bucket, key)
        // Bytes first: once they are gone the object is gone, whatever happens to the sidecar.
        yield* fs.remove(target, { force: true })
        yield* fs.remove(target + META_SUFFIX, { force: true })
      }).pipe(
        Effect.catchTag("SystemError", (error) =>
          error.reason === "NotFound" || error.reason === "BadResource"
            ? Effect.void
            : Effect.fail(storageError("delete", key)(error))),
        Effect.catchTag("BadArgument", (error) => Effect.fail(storageError("delete", key)(error)))
      )

    return { objectPath, writeObject, readMeta, openFile, describeFile, readObject, removeObject }
  })

export type ObjectFiles = Effect.Effect.Success<ReturnType<typeof makeObjectFiles>>
