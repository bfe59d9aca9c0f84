import { describe, expect, it } from "@effect/vitest"
import { makeTestLayer, makeTestService } from "@imgpipe/core/testing"
import { Cause, Effect, Exit, Option } from "effect"
import { ImageRepository } from "../../src/services/ImageRepository.js"
import { ObjectStorage } from "../../src/services/ObjectStorage.js"

const defectOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.map(Cause.dieOption(exit.cause), (d) => (d as Error).message) : Option.none()

describe("makeTestLayer", () => {
  it.effect("keeps the members a test gives", () =>
    Effect.gen(function* () {
      const storage = yield* ObjectStorage
      expect(yield* storage.head("raw", "k")).toEqual(Option.none())
    }).pipe(Effect.provide(makeTestLayer(ObjectStorage)({ head: () => Effect.succeedNone }))))

  it.effect("any other member dies with its name, a method or an Effect-valued member alike", () =>
    Effect.gen(function* () {
      const storage = makeTestService(ObjectStorage, {})
      const repo = makeTestService(ImageRepository, {})
      expect(defectOf(yield* Effect.exit(storage.delete("raw", "k")))).toEqual(
        Option.some("imgpipe/ObjectStorage.delete was not expected in this test")
      )
      expect(defectOf(yield* Effect.exit(repo.ping))).toEqual(
        Option.some("imgpipe/ImageRepository.ping was not expected in this test")
      )
    }))
})
