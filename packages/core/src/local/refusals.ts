/**
 * Why the embedded storage does not store or serve a signed request: each with a machine-readable
 * code and a human message (the storage routes map each code to its HTTP status).
 */
import { Schema } from "effect"

export const RefusalCode = Schema.Literal(
  "signature_mismatch",
  "url_expired",
  "content_type_mismatch",
  "content_length_mismatch",
  "missing_content_length",
  "object_exists"
)
export type RefusalCode = typeof RefusalCode.Type

/** A signed request the storage routes refuse; nothing was stored. */
export class SignedUrlRefused extends Schema.TaggedError<SignedUrlRefused>()("SignedUrlRefused", {
  code: RefusalCode,
  message: Schema.String
}) {}

export const refuse = (code: RefusalCode, message: string) => new SignedUrlRefused({ code, message })

export const objectExists = () =>
  refuse("object_exists", "an object was already uploaded with this URL; an upload URL is good for one upload")

/** The disk (or the user's quota) is full: nothing was stored; worth retrying later. */
export class InsufficientStorage extends Schema.TaggedError<InsufficientStorage>()("InsufficientStorage", {
  operation: Schema.String,
  key: Schema.String,
  message: Schema.String
}) {}

const errnoCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && typeof (error as NodeJS.ErrnoException).code === "string"
    ? (error as NodeJS.ErrnoException).code
    : undefined

/** ENOSPC (no space left on the device) or EDQUOT (quota exceeded), from Node or a PlatformError's cause. */
export const isDiskFull = (error: unknown): boolean => {
  const code = errnoCode(error) ?? errnoCode((error as { cause?: unknown } | null)?.cause)
  return code === "ENOSPC" || code === "EDQUOT"
}
