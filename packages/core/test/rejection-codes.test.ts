import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { RejectionCode } from "../src/domain/errors.js"
import { newImageId } from "../src/domain/ids.js"
import { ImageRepository } from "../src/services/ImageRepository.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { TestDatabase, testDatabaseKind } from "./support/database.js"

// Every rejection code the resizer can give is one the database accepts (the schema's CHECK
// constraints list them): a code missing there would turn a permanent refusal into a database
// error, retried until the message is dead-lettered.

const TestLayer = ImageRepositorySql.pipe(Layer.provideMerge(TestDatabase))

layer(TestLayer)(`rejection codes on ${testDatabaseKind}`, (it) => {
  it.effect("every RejectionCode is recorded on an image and on a rendition", () =>
    Effect.gen(function* () {
      const repo = yield* ImageRepository
      for (const code of RejectionCode.literals) {
        const image = yield* repo.create({
          id: yield* newImageId,
          declaredContentType: "image/avif",
          declaredBytes: 1000,
          uploadExpiresAt: new Date(Date.now() + 15 * 60_000)
        })
        yield* repo.markUploaded([{ id: image.id, bytes: 1000 }])
        yield* repo.markRenditionFailed(image.id, "large", { code, message: `refused: ${code}` })
        yield* repo.markRejected(image.id, { code, message: `refused: ${code}` })
        const found = yield* repo.find(image.id)
        expect(found._tag === "Some" ? found.value.image : undefined, code).toMatchObject({
          status: "failed",
          errorCode: code
        })
      }
    }), 60_000)
})
