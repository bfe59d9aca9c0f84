/**
 * What the processed bucket looks like through CloudFront, for the emulator (`IMGPIPE_DELIVERY=cdn`
 * under `start:aws-local`, where `IMGPIPE_CDN_URL` is the emulator's path-style bucket URL):
 *
 * - **Cache-Control is kept.** S3 stores a PUT's `Cache-Control` with the object, returns it on
 *   every GET and HEAD (CloudFront passes it on, and caches by it), and a CopyObject keeps it
 *   unless the copy replaces the metadata. fauxqs drops it; this keeps it beside fauxqs's store.
 * - **Buckets are private.** In AWS neither bucket is public: originals are read with presigned
 *   URLs, renditions through the distribution, which alone may GET the processed bucket (origin
 *   access control). Here an anonymous request (no `Authorization`, no presigned signature) may
 *   only GET or HEAD an object of the processed bucket; anything else on either bucket is
 *   `403 AccessDenied`, as S3 answers it. CORS preflights (`OPTIONS`) are never signed and pass.
 */

export interface CacheControlStore {
  /** After a successful object PUT (or copy) to `bucket`/`key`, with the request's headers. */
  readonly written: (input: {
    readonly bucket: string
    readonly key: string
    readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  }) => void
  readonly deleted: (bucket: string, key: string) => void
  /** The `Cache-Control` S3 would return for the object, if it was written with one. */
  readonly of: (bucket: string, key: string) => string | undefined
}

const single = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : value?.[0]

/** `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded, maybe with `?versionId=`. */
export const parseCopySource = (value: string): { readonly bucket: string; readonly key: string } | undefined => {
  const path = value.split("?")[0]?.replace(/^\//, "") ?? ""
  const slash = path.indexOf("/")
  if (slash <= 0 || slash === path.length - 1) return undefined
  try {
    return { bucket: decodeURIComponent(path.slice(0, slash)), key: decodeURIComponent(path.slice(slash + 1)) }
  } catch {
    return undefined
  }
}

export const makeCacheControlStore = (): CacheControlStore => {
  const values = new Map<string, string>()
  const id = (bucket: string, key: string) => `${bucket}/${key}`
  return {
    written: ({ bucket, headers, key }) => {
      const copySource = single(headers["x-amz-copy-source"])
      const replace = single(headers["x-amz-metadata-directive"])?.toUpperCase() === "REPLACE"
      const source = copySource === undefined || replace ? undefined : parseCopySource(copySource)
      const value = source ? values.get(id(source.bucket, source.key)) : single(headers["cache-control"])
      if (value === undefined || value === "") values.delete(id(bucket, key))
      else values.set(id(bucket, key), value)
    },
    deleted: (bucket, key) => void values.delete(id(bucket, key)),
    of: (bucket, key) => values.get(id(bucket, key))
  }
}

/** Whether a request carries credentials: a SigV4 `Authorization` header or a presigned query. */
export const isSigned = (
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  rawUrl: string
): boolean =>
  single(headers["authorization"]) !== undefined ||
  new URL(rawUrl, "http://emulator").searchParams.has("X-Amz-Signature")

/**
 * Whether S3 would refuse an anonymous request to one of imgpipe's buckets: only `GET`/`HEAD` of
 * an object in `publicReadBucket` (CloudFront's reads) and CORS preflights are let through.
 * Requests to other paths (SQS, fauxqs's own routes) are not S3 bucket requests and pass.
 */
export const refusesAnonymous = (input: {
  readonly method: string
  readonly bucket: string | undefined
  readonly key: string | undefined
  /** The request's query parameters: CloudFront forwards none (docs/deploy.md#delivery). */
  readonly hasQuery: boolean
  readonly privateBuckets: ReadonlyArray<string>
  readonly publicReadBucket: string | undefined
}): boolean => {
  const { bucket, key, method } = input
  if (bucket === undefined || !input.privateBuckets.includes(bucket) || method === "OPTIONS") return false
  const isObjectRead = (method === "GET" || method === "HEAD") && key !== undefined && key.length > 0 &&
    !input.hasQuery
  return !(isObjectRead && bucket === input.publicReadBucket)
}
