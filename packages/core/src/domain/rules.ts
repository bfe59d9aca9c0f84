/**
 * Domain rules that more than one place decides on, named once. Pure: no services, no settings.
 */
import { Schema } from "effect"
import { type FailureCode, RejectionCode } from "./errors.js"
import type { ImageStatus } from "./image.js"

// ---- rejection ---------------------------------------------------------------------------------

/**
 * A failure code that refuses the content for good (every code but `processing_failed`, which
 * only says retries ran out: a later redelivery may still produce the size).
 */
export const isRejectionCode: (code: FailureCode | null) => code is RejectionCode = Schema.is(RejectionCode)

/**
 * A rejected image: `failed` with a rejection code. Final: it never gets renditions, `get_image`
 * answers 422 and no later write changes it (repositories enforce the same rule on their writes).
 */
export const isRejected = <I extends { readonly status: ImageStatus; readonly errorCode: FailureCode | null }>(
  image: I
): image is I & { readonly status: "failed"; readonly errorCode: RejectionCode } =>
  image.status === "failed" && isRejectionCode(image.errorCode)

// ---- content types -----------------------------------------------------------------------------

/**
 * The media type a `Content-Type` names, parameters dropped: `image/JPEG; charset=x` → `image/jpeg`.
 * What `POST /upload` accepts or refuses (parameters never change what we accept).
 */
export const mediaType = (value: string): string => value.split(";")[0]!.trim().toLowerCase()

/**
 * A `Content-Type` header as compared with the one an upload URL was signed for: trimmed and
 * lower-cased, parameters kept (media types are case-insensitive; comparing this form avoids false
 * refusals, while a different parameter is still a different header, as object stores compare it).
 */
export const canonicalContentType = (value: string): string => value.trim().toLowerCase()

// ---- signed URLs -------------------------------------------------------------------------------

/** The longest a signed URL may be valid: 7 days (SigV4's limit); every store keeps to it. */
export const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600

/** Whether a signed URL's lifetime is acceptable: a whole number of seconds in 1..`MAX_EXPIRES_IN_SECONDS`. */
export const isValidExpiresIn = (seconds: number): boolean =>
  Number.isInteger(seconds) && seconds > 0 && seconds <= MAX_EXPIRES_IN_SECONDS
