/** Shared steps of the use-case unit tests: images brought into a state the way the pipeline would. */
import { type FakeImage, fakeImage, type MemoryServices } from "@imgpipe/core/testing"
import { Effect } from "effect"
import type { ImageId } from "../../src/domain/ids.js"
import { rawKey } from "../../src/domain/sizes.js"
import { requestUpload } from "../../src/usecases/requestUpload.js"
import { startProcessing } from "../../src/usecases/startProcessing.js"

/** An upload requested and nothing stored yet (`awaiting_upload`). */
export const requested = (contentType = "image/jpeg") =>
  Effect.map(requestUpload({ contentType, contentLength: 10 }), (ticket) => ticket.imageId)

/** The client's PUT: `bytes` (a fake image by default) stored as the original. */
export const stored = (
  memory: MemoryServices,
  id: ImageId,
  image: FakeImage | Uint8Array = { width: 4000, height: 3000 }
) => memory.storage.upload(rawKey(id), image instanceof Uint8Array ? image : fakeImage(image), "image/jpeg")

/** Requested, stored and started (`processing`, one job per size on the queue). */
export const uploaded = (memory: MemoryServices, image: FakeImage | Uint8Array = { width: 4000, height: 3000 }) =>
  Effect.gen(function* () {
    const id = yield* requested()
    yield* stored(memory, id, image)
    const bytes = image instanceof Uint8Array ? image.byteLength : fakeImage(image).byteLength
    yield* startProcessing({ key: rawKey(id), bytes })
    return id
  })
