/**
 * The disk storage's stand-in for S3's presigned URLs: HMAC-SHA256 over the fields a URL allows,
 * checked in constant time, expiring.
 *
 *   PUT {publicUrl}/storage/raw/<key>?content_type=…&content_length=…&expires=<unix s>&sig=<hex>
 *   GET {publicUrl}/storage/<bucket>/<key>?expires=<unix s>&sig=<hex>          (HEAD too)
 *
 * Canonical string (fields joined by "\n"; none of them can contain a newline):
 *   imgpipe-storage-v1 \n <METHOD> \n <bucket> \n <key> \n <expires> \n <content-type> \n <content-length>
 * with content type and length empty for GET. The signed type and length travel in the query so the
 * server can tell a tampered URL (`signature_mismatch`) from a client sending another type or length
 * (`content_type_mismatch`, `content_length_mismatch`), which is what the API contract promises.
 */
import { Clock, Effect, Option, Redacted } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { StorageError } from "../domain/errors.js"
import { canonicalContentType, isValidExpiresIn, MAX_EXPIRES_IN_SECONDS } from "../domain/rules.js"
import type { Bucket, ObjectStorage, PresignedDownload, PresignedUpload } from "../services/ObjectStorage.js"
import { DECIMAL, type SignedUpload } from "./disk-service.js"
import { encodeKeyForPath, invalidKey, isBucket, isValidKey } from "./keys.js"
import { refuse, type SignedUrlRefused } from "./refusals.js"

/** A URL's query as the server parsed it (a name given twice is an array). */
export type SignedQuery = Readonly<Record<string, string | ReadonlyArray<string>>>

export interface UrlSigner {
  /** A PUT URL for `key` in the raw bucket, for exactly this type and length. */
  readonly signUpload: ObjectStorage["Type"]["presignUpload"]
  /** A GET (and HEAD) URL for an object. */
  readonly signDownload: ObjectStorage["Type"]["presignDownload"]
  /** Checks a PUT URL (signature, then expiry) and returns what it allows. */
  readonly verifyUpload: (input: {
    readonly key: string
    readonly query: SignedQuery
  }) => Effect.Effect<SignedUpload, SignedUrlRefused>
  /** Checks a GET/HEAD URL (signature, then expiry). */
  readonly verifyDownload: (input: {
    readonly bucket: string
    readonly key: string
    readonly query: SignedQuery
  }) => Effect.Effect<{ readonly bucket: Bucket; readonly key: string }, SignedUrlRefused>
}

interface CanonicalFields {
  readonly method: "PUT" | "GET"
  readonly bucket: Bucket
  readonly key: string
  readonly expires: number
  readonly contentType: string
  readonly contentLength: string
}

const canonicalString = (fields: CanonicalFields): string =>
  [
    "imgpipe-storage-v1",
    fields.method,
    fields.bucket,
    fields.key,
    String(fields.expires),
    fields.contentType,
    fields.contentLength
  ].join("\n")

/** Printable ASCII only: keeps the canonical string unambiguous and the value a legal header. */
export const isSafeContentType = (value: string): boolean =>
  value.length > 0 && value.length <= 255 && /^[\x20-\x7e]+$/.test(value)

const singleParam = (query: SignedQuery, name: string): Option.Option<string> => {
  const value = query[name]
  return typeof value === "string" ? Option.some(value) : Option.none()
}

const parseExpires = (query: SignedQuery) =>
  singleParam(query, "expires").pipe(
    Option.filter((value) => DECIMAL.test(value)),
    Option.map(Number)
  )

/** When a URL asked to live `expiresInSeconds` from now expires, in whole Unix seconds. */
const expiresAt = (operation: string, key: string, expiresInSeconds: number) =>
  Effect.gen(function* () {
    if (!isValidExpiresIn(expiresInSeconds)) {
      return yield* new StorageError({
        operation,
        key,
        message: `expiresInSeconds must be an integer in 1..${MAX_EXPIRES_IN_SECONDS}`
      })
    }
    const now = yield* Clock.currentTimeMillis
    // Rounded up so a URL lives at least as long as asked.
    return Math.ceil(now / 1000 + expiresInSeconds)
  })

/**
 * Signs and checks storage URLs with `secret`; the URLs start with `publicUrl` (no trailing slash).
 * Time comes from the `Clock`, so tests move it instead of waiting.
 */
export const makeUrlSigner = (options: {
  readonly secret: Redacted.Redacted<Uint8Array>
  readonly publicUrl: string
}): UrlSigner => {
  const { publicUrl, secret } = options

  const sign = (fields: CanonicalFields): Buffer =>
    createHmac("sha256", Redacted.value(secret)).update(canonicalString(fields)).digest()

  /**
   * Checks `sig` against the canonical string of the fields the URL claims (none when the URL is
   * malformed: a URL we never signed). Signature first, in constant time; expiry second, so a
   * forged `expires` is reported as a forgery, not as an expiry.
   */
  const verify = <A extends { readonly expires: number }>(
    fields: Option.Option<A>,
    canonical: (fields: A) => CanonicalFields,
    query: SignedQuery
  ): Effect.Effect<A, SignedUrlRefused> =>
    Effect.gen(function* () {
      const mismatch = refuse("signature_mismatch", "the URL's signature does not match; request a new URL")
      const sig = singleParam(query, "sig").pipe(Option.filter((value) => /^[0-9a-fA-F]{64}$/.test(value)))
      if (Option.isNone(fields) || Option.isNone(sig)) return yield* mismatch
      if (!timingSafeEqual(Buffer.from(sig.value, "hex"), sign(canonical(fields.value)))) return yield* mismatch
      const now = yield* Clock.currentTimeMillis
      if (now > fields.value.expires * 1000) {
        return yield* refuse("url_expired", "the URL has expired; request a new one")
      }
      return fields.value
    })

  return {
    signUpload: (input) =>
      Effect.gen(function* () {
        const contentType = canonicalContentType(input.contentType)
        if (!isValidKey(input.key)) return yield* invalidKey("presignUpload", input.key)
        if (!isSafeContentType(contentType)) {
          return yield* new StorageError({
            operation: "presignUpload",
            key: input.key,
            message: "invalid content type"
          })
        }
        if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
          return yield* new StorageError({
            operation: "presignUpload",
            key: input.key,
            message: "contentLength must be a non-negative integer"
          })
        }
        const expires = yield* expiresAt("presignUpload", input.key, input.expiresInSeconds)
        const contentLength = String(input.contentLength)
        const sig = sign({ method: "PUT", bucket: "raw", key: input.key, expires, contentType, contentLength })
        const query = new URLSearchParams({
          content_type: contentType,
          content_length: contentLength,
          expires: String(expires),
          sig: sig.toString("hex")
        })
        return {
          method: "PUT",
          url: `${publicUrl}/storage/raw/${encodeKeyForPath(input.key)}?${query.toString()}`,
          // Content-Length is signed too, but every HTTP client sets it from the body itself
          // (browsers forbid setting it), so it is not listed. If-None-Match: * is what S3 needs
          // to refuse an overwrite; this storage refuses one anyway (one upload per URL), and
          // asks for the same header so a client has one code path for both.
          headers: { "content-type": contentType, "if-none-match": "*" },
          expiresAt: new Date(expires * 1000)
        } satisfies PresignedUpload
      }),

    signDownload: (input) =>
      Effect.gen(function* () {
        if (!isValidKey(input.key)) return yield* invalidKey("presignDownload", input.key)
        const expires = yield* expiresAt("presignDownload", input.key, input.expiresInSeconds)
        const sig = sign({
          method: "GET",
          bucket: input.bucket,
          key: input.key,
          expires,
          contentType: "",
          contentLength: ""
        })
        const query = new URLSearchParams({ expires: String(expires), sig: sig.toString("hex") })
        return {
          url: `${publicUrl}/storage/${input.bucket}/${encodeKeyForPath(input.key)}?${query.toString()}`,
          expiresAt: new Date(expires * 1000)
        } satisfies PresignedDownload
      }),

    verifyUpload: ({ key, query }) =>
      verify(
        Option.all({
          key: Option.some(key).pipe(Option.filter(isValidKey)),
          expires: parseExpires(query),
          contentType: singleParam(query, "content_type").pipe(Option.filter(isSafeContentType)),
          // Kept as the string that was signed: "0100" must not verify a URL signed for "100".
          contentLength: singleParam(query, "content_length").pipe(Option.filter((value) => DECIMAL.test(value)))
        }),
        (fields) => ({ method: "PUT", bucket: "raw", ...fields }),
        query
      ).pipe(Effect.map((fields) => ({ ...fields, contentLength: Number(fields.contentLength) }))),

    verifyDownload: ({ bucket, key, query }) =>
      verify(
        Option.all({
          bucket: Option.some(bucket).pipe(Option.filter(isBucket)),
          key: Option.some(key).pipe(Option.filter(isValidKey)),
          expires: parseExpires(query)
        }),
        (fields) => ({ method: "GET", ...fields, contentType: "", contentLength: "" }),
        query
      ).pipe(Effect.map(({ bucket, key }) => ({ bucket, key })))
  }
}
