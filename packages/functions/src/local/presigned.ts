/**
 * Checks a presigned (query-string SigV4) S3 request the way S3 does, for the emulator: fauxqs
 * accepts any credentials and signature, so without this a presigned PUT with another
 * content type or length would be stored, which real S3 refuses. The check recomputes the
 * signature from the request as received — its signed headers with the values the client really
 * sent — using the SDK's own signer, and compares it with `X-Amz-Signature`.
 *
 * Only presigned requests are checked (they are what clients get); the SDK's header-signed calls
 * are passed through, as fauxqs does.
 */
import { Hash } from "@smithy/hash-node"
import { SignatureV4 } from "@smithy/signature-v4"
import { timingSafeEqual } from "node:crypto"

export interface Keys {
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export type PresignCheck =
  | { readonly _tag: "NotPresigned" }
  | { readonly _tag: "Valid" }
  | {
    readonly _tag: "Refused"
    readonly code: "SignatureDoesNotMatch" | "AccessDenied" | "InvalidAccessKeyId"
    readonly message: string
  }

/** `20261128T005933Z` → Date. */
const parseAmzDate = (value: string): Date | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (match === null) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number)
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!))
}

const refused = (
  code: "SignatureDoesNotMatch" | "AccessDenied" | "InvalidAccessKeyId",
  message: string
): PresignCheck => ({
  _tag: "Refused",
  code,
  message
})

/**
 * Verifies `method rawUrl` with `headers` (lower-case names, as Node gives them) against `keys`.
 * `now` is the time the request arrived.
 */
export const checkPresigned = async (input: {
  readonly method: string
  readonly rawUrl: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly keys: Keys
  readonly now: Date
}): Promise<PresignCheck> => {
  const url = new URL(input.rawUrl, "http://emulator")
  const params = url.searchParams
  const signature = params.get("X-Amz-Signature")
  if (signature === null) return { _tag: "NotPresigned" }

  const credential = params.get("X-Amz-Credential") ?? ""
  const [accessKeyId, shortDate, region, service] = credential.split("/")
  const signedAt = parseAmzDate(params.get("X-Amz-Date") ?? "")
  const expiresIn = Number(params.get("X-Amz-Expires") ?? "")
  const signedHeaders = (params.get("X-Amz-SignedHeaders") ?? "").split(";").filter((name) => name.length > 0)
  if (
    accessKeyId === undefined || shortDate === undefined || region === undefined || service === undefined ||
    signedAt === undefined || !Number.isInteger(expiresIn) || expiresIn <= 0 || !signedHeaders.includes("host")
  ) {
    return refused(
      "AccessDenied",
      "Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires and X-Amz-SignedHeaders including host"
    )
  }
  if (accessKeyId !== input.keys.accessKeyId) {
    return refused("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
  }
  if (input.now.getTime() > signedAt.getTime() + expiresIn * 1000) {
    return refused("AccessDenied", "Request has expired")
  }

  // The request as the client sent it: the signed headers with their real values. A signed header
  // that is missing makes the signature differ, as in S3.
  const headers: Record<string, string> = {}
  for (const name of signedHeaders) {
    const value = input.headers[name]
    if (value === undefined) {
      return refused(
        "SignatureDoesNotMatch",
        `There were headers present in the request which were not signed: missing ${name}`
      )
    }
    headers[name] = typeof value === "string" ? value : value.join(",")
  }
  // The presigner signs with an unsigned payload, set as this header (spelled so) and then hoisted
  // into the query; doing the same reproduces its canonical query string.
  const payload = params.get("X-Amz-Content-Sha256")
  if (payload !== null) headers["X-Amz-Content-Sha256"] = payload

  const query: Record<string, string> = {}
  for (const [name, value] of params) {
    if (name === "X-Amz-Signature" || name === "X-Amz-Content-Sha256") continue
    query[name] = value
  }
  const [hostname, port] = (headers["host"] ?? "").split(":")
  const signer = new SignatureV4({
    service,
    region,
    credentials: { accessKeyId: input.keys.accessKeyId, secretAccessKey: input.keys.secretAccessKey },
    // SHA-256 / HMAC-SHA256 on node:crypto, as the SDK's own Node clients build it.
    sha256: Hash.bind(null, "sha256"),
    // S3 signs the path as sent (no second escaping).
    uriEscapePath: service !== "s3",
    applyChecksum: false
  })
  const expected = await signer.presign(
    {
      method: input.method,
      protocol: "http:",
      hostname: hostname ?? "",
      ...(port !== undefined ? { port: Number(port) } : {}),
      path: url.pathname,
      query,
      headers
    },
    {
      signingDate: signedAt,
      expiresIn,
      signingRegion: region,
      signingService: service,
      signableHeaders: new Set(signedHeaders),
      unhoistableHeaders: new Set(signedHeaders)
    }
  )
  const computed = expected.query?.["X-Amz-Signature"]
  const a = Buffer.from(typeof computed === "string" ? computed : "", "utf8")
  const b = Buffer.from(signature, "utf8")
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return refused(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )
  }
  return { _tag: "Valid" }
}
