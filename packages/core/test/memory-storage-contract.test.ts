/**
 * The in-memory storage of `@imgpipe/core/testing` answers like the embedded disk storage for
 * what the use cases do with objects (write, head, read within a limit, copy, delete): the same steps
 * give the same answers on both.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { makeMemoryStorage } from "@imgpipe/core/testing"
import { Effect, Layer, Option } from "effect"
import { diskStorageLayer } from "../src/local/DiskStorage.js"
import { ObjectStorage } from "../src/services/ObjectStorage.js"

const KEY = "0190f1a4-7a9b-7c3d-8e2f-0000000000aa"
const bytes = new TextEncoder().encode("twelve bytes")

const scenario = Effect.gen(function* () {
  const storage = yield* ObjectStorage
  const trace: Array<unknown> = []
  const outcome = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
    Effect.match(effect, { onFailure: (e) => e._tag, onSuccess: (a) => a })

  trace.push(yield* storage.head("processed", `${KEY}/small`))
  trace.push(yield* outcome(storage.get({ bucket: "processed", key: `${KEY}/small`, maxBytes: 100 })))
  yield* storage.put({
    bucket: "processed",
    key: `${KEY}/small`,
    body: bytes,
    contentType: "image/webp",
    cacheControl: "public, max-age=31536000, immutable"
  })
  trace.push(Option.map(yield* storage.head("processed", `${KEY}/small`), (info) => info.bytes))
  trace.push(yield* storage.head("raw", `${KEY}/small`))
  trace.push(yield* outcome(storage.get({ bucket: "processed", key: `${KEY}/small`, maxBytes: 12 })))
  trace.push(yield* outcome(storage.get({ bucket: "processed", key: `${KEY}/small`, maxBytes: 11 })))
  // A copy: the bytes and the content type; the source stays; replacing what was at the target.
  yield* storage.put({
    bucket: "processed",
    key: `${KEY}/medium`,
    body: new Uint8Array(3),
    contentType: "image/jpeg",
    cacheControl: "no-store"
  })
  yield* storage.copy({ bucket: "processed", fromKey: `${KEY}/small`, toKey: `${KEY}/medium` })
  trace.push(yield* storage.head("processed", `${KEY}/medium`))
  trace.push(yield* outcome(storage.get({ bucket: "processed", key: `${KEY}/medium`, maxBytes: 100 })))
  trace.push(Option.map(yield* storage.head("processed", `${KEY}/small`), (info) => info.bytes))
  trace.push(yield* outcome(storage.copy({ bucket: "processed", fromKey: `${KEY}/large`, toKey: `${KEY}/medium` })))
  trace.push(yield* outcome(storage.copy({ bucket: "raw", fromKey: `${KEY}/small`, toKey: `${KEY}/medium` })))
  yield* storage.markOriginal(KEY, Option.some("refused"))
  yield* storage.delete("processed", `${KEY}/small`)
  yield* storage.delete("processed", `${KEY}/small`)
  trace.push(yield* storage.head("processed", `${KEY}/small`))
  return trace
})

const expected = [
  Option.none(),
  "ObjectNotFound",
  Option.some(12),
  Option.none(),
  bytes,
  "ObjectTooLarge",
  Option.some({ bytes: 12, contentType: Option.some("image/webp") }),
  bytes,
  Option.some(12),
  "ObjectNotFound",
  "ObjectNotFound",
  Option.none()
]

describe("in-memory storage", () => {
  it.effect("answers as the storage contract says", () =>
    Effect.map(scenario, (trace) => expect(trace).toEqual(expected)).pipe(
      Effect.provideService(ObjectStorage, makeMemoryStorage().service)
    ))
})

const DiskLive = Layer.unwrapScoped(
  Effect.map(
    Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "imgpipe-contract-" })),
    (dataDir) => diskStorageLayer({ dataDir, publicUrl: "http://127.0.0.1:9", signingSecret: Option.none() })
  )
).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie)

layer(DiskLive)("disk storage", (it) => {
  it.effect("answers the same", () => Effect.map(scenario, (trace) => expect(trace).toEqual(expected)))
})
