import { Context, type Effect, type Option } from "effect"
import type { ObjectNotFound, ObjectTooLarge, StorageError } from "../domain/errors.js"

/** The two stores: uploads land in `raw`, renditions are written to `processed`. */
export type Bucket = "raw" | "processed"

export interface PresignedUpload {
  readonly method: "PUT"
  readonly url: string
  /** Headers the client must send with the PUT (the signed ones it controls). */
  readonly headers: Readonly<Record<string, string>>
  readonly expiresAt: Date
}

export interface PresignedDownload {
  readonly url: string
  readonly expiresAt: Date
}

export interface ObjectInfo {
  readonly bytes: number
  readonly contentType: Option.Option<string>
}

/**
 * Why a raw object will never be needed again, or may not be: written on the object (the tag
 * `DISPOSITION_TAG`) so the raw store's lifecycle expires it (packages/infra/storage.ts).
 * - `refused`: the content was refused for good (not an image, unsupported, over the limits).
 * - `dead-lettered`: a size's job used up its deliveries; a redrive may still need the original.
 */
export type OriginalDisposition = "refused" | "dead-lettered"

/** The object tag that carries an `OriginalDisposition`; the lifecycle rules filter on it. */
export const DISPOSITION_TAG = "imgpipe-disposition"

/**
 * Object storage: the two buckets, reached by the server directly or by clients through signed
 * URLs. Keys are the spec's: raw `<image_id>`, processed `<image_id>/<size>`.
 */
export class ObjectStorage extends Context.Tag("imgpipe/ObjectStorage")<
  ObjectStorage,
  {
    /** A URL the client PUTs the original to; the store refuses another type or length. */
    readonly presignUpload: (input: {
      readonly key: string
      readonly contentType: string
      readonly contentLength: number
      readonly expiresInSeconds: number
    }) => Effect.Effect<PresignedUpload, StorageError>
    /** A URL that GETs an object until it expires. */
    readonly presignDownload: (input: {
      readonly bucket: Bucket
      readonly key: string
      readonly expiresInSeconds: number
    }) => Effect.Effect<PresignedDownload, StorageError>
    readonly head: (bucket: Bucket, key: string) => Effect.Effect<Option.Option<ObjectInfo>, StorageError>
    /** Reads a whole object, refusing (without reading on) one larger than `maxBytes`. */
    readonly get: (input: {
      readonly bucket: Bucket
      readonly key: string
      readonly maxBytes: number
    }) => Effect.Effect<Uint8Array, StorageError | ObjectNotFound | ObjectTooLarge>
    readonly put: (input: {
      readonly bucket: Bucket
      readonly key: string
      readonly body: Uint8Array
      readonly contentType: string
      readonly cacheControl: string
    }) => Effect.Effect<void, StorageError>
    /**
     * Copies the object at `fromKey` to `toKey` in the same bucket, bytes, content type and cache
     * control alike, replacing what was at `toKey`; fails with `ObjectNotFound` when `fromKey` is
     * missing. (Duplicate uploads get an earlier image's renditions this way.)
     */
    readonly copy: (input: {
      readonly bucket: Bucket
      readonly fromKey: string
      readonly toKey: string
    }) => Effect.Effect<void, StorageError | ObjectNotFound>
    /** Deletes an object; deleting a missing object succeeds. */
    readonly delete: (bucket: Bucket, key: string) => Effect.Effect<void, StorageError>
    /**
     * Marks the original at `key` (raw bucket) with its disposition, or removes the mark (`None`:
     * a redriven image that ended ready keeps its original again). Marking a missing object
     * succeeds: there is nothing left to expire. A store without lifecycle rules may do nothing.
     */
    readonly markOriginal: (
      key: string,
      disposition: Option.Option<OriginalDisposition>
    ) => Effect.Effect<void, StorageError>
  }
>() {}
