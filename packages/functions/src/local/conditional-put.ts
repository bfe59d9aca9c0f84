/**
 * S3's conditional write for the emulator: a PUT with `If-None-Match: *` is refused with
 * `412 PreconditionFailed` when the key already exists. fauxqs ignores the header, and imgpipe's
 * presigned upload URLs rely on it (one upload per URL), so the emulator checks it before the
 * body is read.
 *
 * Two PUTs racing on one key cannot both win: a key is claimed synchronously, before any await,
 * for as long as its write is in flight, and a PUT that finds the key claimed is refused as well
 * (S3 may answer that case 409 ConditionalRequestConflict; either way exactly one write lands).
 */

export type ConditionalCheck =
  | { readonly _tag: "NotConditional" }
  | { readonly _tag: "Proceed"; readonly release: () => void }
  | { readonly _tag: "Refused"; readonly code: "PreconditionFailed"; readonly message: string }

export interface ConditionalWrites {
  /**
   * Checks a request before its body is read. `Proceed` holds the key until `release` (call it when
   * the response is done, whatever its outcome).
   */
  readonly check: (input: {
    readonly method: string
    readonly bucket: string | undefined
    readonly key: string | undefined
    readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
    readonly query: Readonly<Record<string, unknown>> | undefined
  }) => Promise<ConditionalCheck>
}

const PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold"

/** `exists` looks the object up in the emulator's own store. */
export const makeConditionalWrites = (exists: (bucket: string, key: string) => Promise<boolean>): ConditionalWrites => {
  const inFlight = new Set<string>()
  return {
    check: async ({ bucket, headers, key, method, query }) => {
      const condition = headers["if-none-match"]
      // Only object PUTs (not a bucket, a multipart part or a copy) with the one condition S3 supports.
      if (
        method !== "PUT" || condition !== "*" || bucket === undefined || key === undefined || key.length === 0 ||
        query?.["uploadId"] !== undefined || headers["x-amz-copy-source"] !== undefined
      ) {
        return { _tag: "NotConditional" }
      }
      const id = `${bucket}/${key}`
      if (inFlight.has(id)) return { _tag: "Refused", code: "PreconditionFailed", message: PRECONDITION_FAILED }
      inFlight.add(id)
      const release = () => {
        inFlight.delete(id)
      }
      try {
        if (await exists(bucket, key)) {
          release()
          return { _tag: "Refused", code: "PreconditionFailed", message: PRECONDITION_FAILED }
        }
      } catch (error) {
        release()
        throw error
      }
      return { _tag: "Proceed", release }
    }
  }
}
