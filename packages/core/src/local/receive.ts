/**
 * Receiving an upload's body into a file: counted, hashed, refused at the first byte past the
 * signed length, and — whatever goes wrong — without destroying the request, so the client still
 * reads the JSON answer instead of a connection reset (the caller drains what is left).
 */
import { createHash } from "node:crypto"
import { createWriteStream } from "node:fs"
import { type Readable, Transform, type TransformCallback } from "node:stream"
import { finished, pipeline } from "node:stream/promises"
import { refuse, type SignedUrlRefused } from "./refusals.js"

/**
 * Passes an upload's bytes through while counting and hashing them; fails at the first byte past
 * the signed length rather than storing the excess and measuring afterwards.
 */
class LengthMeter extends Transform {
  received = 0
  refusal: SignedUrlRefused | undefined = undefined
  private readonly hash = createHash("md5")
  constructor(private readonly limit: number) {
    super()
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length
    if (this.received > this.limit) {
      this.refusal = refuse("content_length_mismatch", `the request body is longer than the signed ${this.limit} bytes`)
      callback(this.refusal)
      return
    }
    this.hash.update(chunk)
    callback(null, chunk)
  }
  etag(): string {
    return this.hash.digest("hex")
  }
}

/** A file system failure (it has a syscall), as opposed to the client's connection breaking. */
const isFileSystemError = (error: unknown): boolean =>
  error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string" &&
  (error as NodeJS.ErrnoException).syscall !== "read"

/**
 * Writes `body` to the new file `path` (created exclusively, flushed before it resolves) and
 * returns its length and MD5. Throws `SignedUrlRefused` when the body is longer or shorter than
 * `contentLength`, and the file system's error when writing fails (ENOSPC included). The request
 * stream is never destroyed here: on failure the caller answers, then `drain`s it.
 */
export const receiveBody = async (input: {
  readonly body: Readable
  readonly path: string
  readonly contentLength: number
  readonly signal: AbortSignal
}): Promise<{ readonly bytes: number; readonly etag: string }> => {
  const { body, contentLength } = input
  const meter = new LengthMeter(contentLength)
  // `pipe`, not `pipeline`, from the request: a failing file must not destroy the request (and its
  // socket) before the answer is written. A request that breaks is passed on to the meter.
  body.pipe(meter)
  finished(body).catch((error: unknown) => meter.destroy(error instanceof Error ? error : new Error(String(error))))
  try {
    await pipeline(meter, createWriteStream(input.path, { flags: "wx", flush: true }), { signal: input.signal })
  } catch (error) {
    body.unpipe(meter)
    if (meter.refusal !== undefined) throw meter.refusal
    // The client hung up or the connection broke mid-body; a file system failure is ours.
    if (isFileSystemError(error)) throw error
    throw refuse("content_length_mismatch", `the request body ended before its declared ${contentLength} bytes`)
  }
  if (meter.received < contentLength) {
    throw refuse(
      "content_length_mismatch",
      `the request body has ${meter.received} bytes, the URL was signed for ${contentLength}`
    )
  }
  return { bytes: meter.received, etag: meter.etag() }
}
