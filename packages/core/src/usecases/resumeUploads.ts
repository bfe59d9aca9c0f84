import { Effect, Option } from "effect"
import type { ImageId } from "../domain/ids.js"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"
import { type ObjectCreated, startProcessingMany } from "./startProcessing.js"

/**
 * Which of `ids` have their original stored (HEAD on the raw bucket, `concurrency` at a time): the
 * stored ones as the notification their upload would have sent, and the ids with no object.
 */
export const checkStoredUploads = (ids: ReadonlyArray<ImageId>, concurrency = 1) =>
  Effect.gen(function* () {
    const storage = yield* ObjectStorage
    const checked = yield* Effect.forEach(ids, (id) =>
      Effect.map(storage.head("raw", rawKey(id)), (info) => ({ id, info })), {
      concurrency
    })
    const stored = checked.flatMap(({ id, info }): Array<ObjectCreated> =>
      Option.isSome(info) ? [{ key: rawKey(id), bytes: info.value.bytes }] : []
    )
    const missing = checked.filter(({ info }) =>
      Option.isNone(info)
    ).map(({ id }) => id)
    return { stored, missing }
  })

/**
 * Uploads whose object is stored but whose image is still `awaiting_upload`: their notification was
 * never handled (the process stopped in between, or the database was unreachable), oldest first.
 */
export const findStoredUploads = (limit = 1000) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const waiting = yield* repo.listAwaitingUpload(limit)
    return (yield* checkStoredUploads(waiting.map((image) => image.id))).stored
  }).pipe(Effect.withSpan("findStoredUploads"))

/**
 * Finds uploads whose notification was never handled (`findStoredUploads`) and starts them, as the
 * notification would have (only those still `awaiting_upload`). Returns how many were found.
 */
export const resumeUploads = (limit = 1000) =>
  Effect.gen(function* () {
    const found = yield* findStoredUploads(limit)
    if (found.length > 0) yield* startProcessingMany(found, { resendUnfinished: false })
    return found.length
  }).pipe(Effect.withSpan("resumeUploads"))
