import { Effect, Option } from "effect"
import { rawKey } from "../domain/sizes.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { ObjectStorage } from "../services/ObjectStorage.js"
import { startProcessing } from "./startProcessing.js"

/**
 * Finds uploads whose object is stored but whose notification was never handled (the process
 * stopped between the two) and starts them, as the notification would have. Returns how many.
 */
export const resumeUploads = (limit = 1000) =>
  Effect.gen(function* () {
    const repo = yield* ImageRepository
    const storage = yield* ObjectStorage
    const waiting = yield* repo.listAwaitingUpload(limit)
    let started = 0
    for (const image of waiting) {
      const key = rawKey(image.id)
      const info = yield* storage.head("raw", key)
      if (Option.isSome(info)) {
        yield* startProcessing({ key, bytes: info.value.bytes })
        started++
      }
    }
    return started
  }).pipe(Effect.withSpan("resumeUploads"))
