/**
 * The HMAC key of the disk storage's signed URLs: `IMGPIPE_SIGNING_SECRET` when set, else a key
 * generated once and kept under the data folder.
 */
import type { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Config, Effect, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as NodePath from "node:path"
import { StorageError } from "../domain/errors.js"

/** `IMGPIPE_SIGNING_SECRET`: none means "generate once and keep it in `<dataDir>/signing-secret`". */
export const signingSecretConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("IMGPIPE_SIGNING_SECRET")
).pipe(
  // An empty variable (common in compose files) means "not set", not "sign with the empty key".
  Config.map(Option.filter((secret) => Redacted.value(secret).length > 0)),
  Config.validate({
    message: "IMGPIPE_SIGNING_SECRET must be at least 16 characters",
    validation: Option.match({ onNone: () => true, onSome: (secret) => Redacted.value(secret).length >= 16 })
  })
)

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
            new StorageError({
              operation: "signing-secret",
              key: path,
              message: "the file is not a hex key; remove it to generate a new one"
            })
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

/** The key to sign with: the configured secret's UTF-8 bytes, or the generated one. */
export const resolveSigningSecret = (
  configured: Option.Option<Redacted.Redacted<string>>,
  fs: FileSystem.FileSystem,
  dataDir: string
): Effect.Effect<Redacted.Redacted<Uint8Array>, StorageError> =>
  Option.match(configured, {
    onSome: (value) => Effect.succeed(Redacted.make<Uint8Array>(Buffer.from(Redacted.value(value), "utf8"))),
    onNone: () => loadOrCreateSecret(fs, dataDir)
  })
