/**
 * Reading an S3 object's body with a byte limit (the SDK's Node body: an async iterable of chunks).
 */

/** The result of reading a body with a byte limit. */
export type Read = { readonly _tag: "Bytes"; readonly bytes: Uint8Array } | { readonly _tag: "TooLarge" }

/** The SDK's Node body: an async iterable of chunks that can be destroyed. */
export interface NodeBody extends AsyncIterable<Uint8Array> {
  destroy?: (error?: Error) => void
}

export const isNodeBody = (body: unknown): body is NodeBody =>
  typeof body === "object" && body !== null && Symbol.asyncIterator in body

/**
 * Reads at most `maxBytes`, stopping (and closing the connection) at the first byte too many rather
 * than buffering an oversized object. Exported for its tests: S3 always sends Content-Length, so
 * this guard only acts when a response lacks or misstates it.
 */
export const readAtMost = async (body: NodeBody, maxBytes: number): Promise<Read> => {
  const chunks: Array<Uint8Array> = []
  let received = 0
  try {
    for await (const chunk of body) {
      received += chunk.byteLength
      if (received > maxBytes) return { _tag: "TooLarge" }
      chunks.push(chunk)
    }
  } finally {
    // Stopped early, failed or interrupted: free the socket instead of leaving it to time out.
    body.destroy?.()
  }
  const bytes = new Uint8Array(received)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return { _tag: "Bytes", bytes }
}
