import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as NodePath from "node:path"
import { StorageError } from "../domain/errors.js"

/**
 * The HMAC key when none is configured: 32 random bytes, generated once and kept in
 * `<dataDir>/signing-secret` (mode 0600) so links signed before a restart stay valid. The file is
 * written to a temporary name and hard-linked into place, which fails if it already exists, so two
 * processes starting together agree on one key and no one ever reads a half-written file.
 */
export const loadOrCreateSecret = (fs: FileSystem.FileSystem, dataDir: string) =>
  Effect.gen(function* () {
    const path = NodePath.join(dataDir, "signing-secret")
    const toStorageError = (error: PlatformError) =>
      new StorageError({ operation: "signing-secret", key: path, message: error.message })
    const read = fs.readFileString(path).pipe(
      Effect.mapError(toStorageError),
      Effect.flatMap((text) => {
        const hex = text.trim()
        return /^[0-9a-f]{64,}$/.test(hex)
          ? Effect.succeed(Redacted.make(Buffer.from(hex, "hex")))
          : Effect.fail(
              new StorageError({ operation: "signing-secret", key: path, message: "the file is not a hex key; remove it to generate a new one" })
            )
      })
    )
    const exists = yield* fs.exists(path).pipe(Effect.mapError(toStorageError))
    if (exists) return yield* read
    const temp = `${path}.${randomBytes(8).toString("hex")}.tmp`
    yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(
      Effect.zipRight(fs.writeFileString(temp, `${randomBytes(32).toString("hex")}\n`, { flag: "wx", mode: 0o600 })),
      Effect.zipRight(
        fs.link(temp, path).pipe(
          // Another process won the race: its key is the key.
          Effect.catchIf(
            (error) => error._tag === "SystemError" && error.reason === "AlreadyExists",
            () => Effect.void
          )
        )
      ),
      Effect.ensuring(fs.remove(temp, { force: true }).pipe(Effect.ignore)),
      Effect.mapError(toStorageError)
    )
    return yield* read
  })
