import { Array as Arr, Effect, Option } from "effect"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"
import { type ObjectCreated, startProcessingMany } from "./startProcessing.js"

/**
 * Uploads whose object is stored but whose image is still `awaiting_upload`: their notification was
 * never handled (the process stopped in between, or the database was unreachable), oldest first.
 */
export const findStoredUploads = (limit = 1000) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage
    const waiting = yield* repo.listAwaitingUpload(limit)
    const checked = yield* Effect.forEach(waiting, (image) => {
      const key = rawKey(image.id)
      return Effect.map(storage.head("raw", key), Option.map((info): ObjectCreated => ({ key, bytes: info.bytes })))
    })
    return Arr.getSomes(checked)
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
