import { Clock, Effect, Option } from "effect"
import { ObjectNotFound, ObjectTooLarge, StorageError } from "../domain/errors.js"
import { type Bucket, ObjectStorage, type OriginalDisposition } from "../services/ObjectStorage.js"

export interface StoredObject {
  readonly body: Uint8Array
  readonly contentType: string
  readonly cacheControl: string
}

const expiry = (seconds: number) => Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms + seconds * 1000))

/**
 * `ObjectStorage` over a map of `<bucket>/<key>`, with deterministic URLs
 * (`https://storage.test/<bucket>/<key>?signature=test`; uploads add `length=<bytes>`).
 * `state.failDownloads` makes `presignDownload` fail (typed), `state.dieOnDownload` die: for
 * checking what an error answer leaks. `dispositions` holds each original's lifecycle mark.
 */
export const makeMemoryStorage = () => {
  const objects = new Map<string, StoredObject>()
  const dispositions = new Map<string, OriginalDisposition>()
  const state = { failDownloads: false, dieOnDownload: false }
  const path = (bucket: Bucket, key: string) => `${bucket}/${key}`

  const service = ObjectStorage.of({
    presignUpload: (input) =>
      Effect.map(expiry(input.expiresInSeconds), (expiresAt) => ({
        method: "PUT" as const,
        url: `https://storage.test/raw/${input.key}?length=${input.contentLength}&signature=test`,
        headers: { "content-type": input.contentType },
        expiresAt
      })),
    presignDownload: (input) =>
      state.dieOnDownload
        ? Effect.dieMessage("secret internal detail: bucket credentials expired")
        : state.failDownloads
        ? Effect.fail(new StorageError({ operation: "presign", key: input.key, message: "disk on fire at /srv/data" }))
        : Effect.map(expiry(input.expiresInSeconds), (expiresAt) => ({
          url: `https://storage.test/${input.bucket}/${input.key}?signature=test`,
          expiresAt
        })),
    head: (bucket, key) =>
      Effect.sync(() =>
        Option.fromNullable(objects.get(path(bucket, key))).pipe(
          Option.map((object) => ({ bytes: object.body.byteLength, contentType: Option.some(object.contentType) }))
        )
      ),
    get: ({ bucket, key, maxBytes }) =>
      Effect.suspend((): Effect.Effect<Uint8Array, ObjectNotFound | ObjectTooLarge> => {
        const object = objects.get(path(bucket, key))
        if (object === undefined) return Effect.fail(new ObjectNotFound({ bucket, key }))
        if (object.body.byteLength > maxBytes) return Effect.fail(new ObjectTooLarge({ key, limit: maxBytes }))
        return Effect.succeed(object.body)
      }),
    put: ({ body, bucket, cacheControl, contentType, key }) =>
      Effect.sync(() => {
        objects.set(path(bucket, key), { body, contentType, cacheControl })
      }),
    copy: ({ bucket, fromKey, toKey }) =>
      Effect.suspend(() => {
        const object = objects.get(path(bucket, fromKey))
        if (object === undefined) return Effect.fail(new ObjectNotFound({ bucket, key: fromKey }))
        objects.set(path(bucket, toKey), object)
        return Effect.void
      }),
    delete: (bucket, key) =>
      Effect.sync(() => {
        objects.delete(path(bucket, key))
        if (bucket === "raw") dispositions.delete(key)
      }),
    markOriginal: (key, disposition) =>
      Effect.sync(() => {
        if (!objects.has(path("raw", key))) return
        if (Option.isSome(disposition)) dispositions.set(key, disposition.value)
        else dispositions.delete(key)
      })
  })

  return {
    service,
    state,
    dispositions,
    /** The object at `bucket`/`key`, if stored. */
    object: (bucket: Bucket, key: string) => Option.fromNullable(objects.get(path(bucket, key))),
    /** Keys stored in `bucket`, sorted. */
    keys: (bucket: Bucket) =>
      Array.from(objects.keys())
        .filter((p) => p.startsWith(`${bucket}/`))
        .map((p) => p.slice(bucket.length + 1))
        .sort(),
    /** What a client's PUT to the upload URL stores. */
    upload: (key: string, body: Uint8Array, contentType = "application/octet-stream") =>
      Effect.sync(() => {
        objects.set(path("raw", key), { body, contentType, cacheControl: "" })
      })
  }
}

export type MemoryStorage = ReturnType<typeof makeMemoryStorage>
