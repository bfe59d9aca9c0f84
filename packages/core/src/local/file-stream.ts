/**
 * A file's bytes as a `Stream` that owns its descriptor: the file is opened when the stream is run
 * and closed however the stream ends (read to the end, failed, or interrupted by a client hanging
 * up). A response that is never streamed (HEAD, 304, an answer the client did not wait for) never
 * opens the file, so no path through the storage routes can hold a descriptor past its request,
 * whatever scope the server runs the handler in.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option, Schema, Stream } from "effect"

const CHUNK_BYTES = 64 * 1024

/** What identifies one version of a file: a rename puts another inode at the path. */
export interface FileIdentity {
  readonly bytes: number
  readonly dev: number
  readonly ino: Option.Option<number>
}

export const identityOf = (info: FileSystem.File.Info): FileIdentity => ({
  bytes: Number(info.size),
  dev: info.dev,
  ino: info.ino
})

const sameFile = (a: FileIdentity, b: FileIdentity): boolean =>
  a.bytes === b.bytes && a.dev === b.dev && Option.getEquivalence((x: number, y: number) => x === y)(a.ino, b.ino)

/** The file at the path is no longer the one that was described (it was replaced in between). */
export class FileChanged extends Schema.TaggedError<FileChanged>()("FileChanged", { path: Schema.String }) {
  override get message(): string {
    return `${this.path} was replaced while it was being served`
  }
}

/**
 * Streams the file at `path`, which must still be the file `expected` describes (the headers
 * already promised its length): if it was replaced in between, the stream fails rather than send
 * bytes that disagree with Content-Length.
 */
export const fileStream = (
  fs: FileSystem.FileSystem,
  path: string,
  expected: FileIdentity
): Stream.Stream<Uint8Array, PlatformError | FileChanged> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "r" })
      const info = yield* file.stat
      if (!sameFile(identityOf(info), expected)) return yield* new FileChanged({ path })
      return Stream.repeatEffectOption(
        file.readAlloc(CHUNK_BYTES).pipe(
          Effect.mapError(Option.some),
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(Option.none()),
            onSome: (chunk: Uint8Array) => Effect.succeed(chunk)
          }))
        )
      )
    })
  )
