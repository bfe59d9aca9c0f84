/**
 * Whether the process can still open a file. At the open-files limit every download and upload
 * fails while the database may answer fine, so readiness checks this too (`GET /ready`).
 */
import { Effect, Schema } from "effect"
import { open } from "node:fs/promises"
import { devNull } from "node:os"

export class CannotOpenFiles extends Schema.TaggedError<CannotOpenFiles>()("CannotOpenFiles", {
  code: Schema.String,
  message: Schema.String
}) {}

const errnoCode = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "UNKNOWN"

/** Opens and closes the null device: fails with the errno code (EMFILE, ENFILE, …) when it cannot. */
export const probeOpenFiles: Effect.Effect<void, CannotOpenFiles> = Effect.acquireUseRelease(
  Effect.tryPromise({
    try: () => open(devNull, "r"),
    catch: (error) => {
      const code = errnoCode(error)
      return new CannotOpenFiles({
        code,
        message: code === "EMFILE" || code === "ENFILE"
          ? `The process cannot open files (${code}: the open-files limit is reached).`
          : `The process cannot open files (${code}).`
      })
    }
  }),
  () => Effect.void,
  (handle) => Effect.tryPromise(() => handle.close()).pipe(Effect.ignore)
)
