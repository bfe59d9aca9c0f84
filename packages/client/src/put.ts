/**
 * The PUT of the bytes to the presigned storage URL (S3, or the embedded runner's signed route).
 * Not an API call, so not through the contract: plain `fetch`, or `XMLHttpRequest` in a browser
 * when the caller wants byte progress (fetch reports none for uploads there). The URL signs the
 * content type and length: the ticket's headers go as they are, except `content-length`, which the
 * runtime sets from the body (browsers refuse to set it; Node's fetch sets it from the bytes).
 */
import { Effect } from "effect"
import { fromResponse, ImgpipeError } from "./errors.js"

export interface UploadTarget {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** Bytes sent so far and in all. */
export type ProgressListener = (sent: number, total: number) => void

/** The body of an upload: bytes, or a Blob (a browser `File`). */
export type UploadBody = Uint8Array | Blob

const sizeOf = (body: UploadBody): number => body instanceof Uint8Array ? body.byteLength : body.size

const withoutContentLength = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== "content-length"))

/** The subset of `XMLHttpRequest` used here (the type-check runs without the DOM library). */
interface Xhr {
  open(method: string, url: string): void
  setRequestHeader(name: string, value: string): void
  send(body: unknown): void
  abort(): void
  readonly status: number
  readonly responseText: string
  readonly upload: {
    onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null
  }
  onload: (() => void) | null
  onerror: (() => void) | null
}
const xhrConstructor = (): (new() => Xhr) | undefined => {
  const candidate: unknown = Reflect.get(globalThis, "XMLHttpRequest")
  return typeof candidate === "function" ? candidate as new() => Xhr : undefined
}

const networkError = (target: UploadTarget, cause: unknown) =>
  new ImgpipeError({
    code: "network_error",
    message: `the upload to storage failed: ${cause instanceof Error ? cause.message : String(cause)}`
  })

const viaXhr = (Request: new() => Xhr, target: UploadTarget, body: UploadBody, onProgress: ProgressListener) =>
  Effect.async<void, ImgpipeError>((resume) => {
    const xhr = new Request()
    xhr.open(target.method, target.url)
    for (const [name, value] of Object.entries(withoutContentLength(target.headers))) {
      xhr.setRequestHeader(name, value)
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : sizeOf(body))
    xhr.onload = () =>
      resume(
        xhr.status >= 200 && xhr.status < 300
          ? Effect.void
          : Effect.fail(fromResponse(xhr.status, xhr.responseText))
      )
    xhr.onerror = () => resume(Effect.fail(networkError(target, "the connection was cut")))
    xhr.send(body)
    return Effect.sync(() => xhr.abort())
  })

/** A body that counts what the connection has taken; Node's fetch sends it with the given length. */
const countingStream = (bytes: Uint8Array, onProgress: ProgressListener): ReadableStream<Uint8Array> => {
  const chunk = 64 * 1024
  let offset = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close()
        return
      }
      const next = bytes.subarray(offset, offset + chunk)
      offset += next.byteLength
      controller.enqueue(next)
      onProgress(offset, bytes.byteLength)
    }
  })
}

const viaFetch = (target: UploadTarget, body: UploadBody, onProgress: ProgressListener | undefined) =>
  Effect.gen(function* () {
    const total = sizeOf(body)
    const headers = withoutContentLength(target.headers)
    // Byte progress outside a browser: a counting stream with the length set, so the request is
    // not chunked (the URL signs the length). Bytes only: a Blob is read whole first.
    const bytes = onProgress !== undefined && body instanceof Blob
      ? new Uint8Array(yield* Effect.promise(() => body.arrayBuffer()))
      : body
    const init: RequestInit & { duplex?: "half" } = onProgress === undefined || !(bytes instanceof Uint8Array)
      ? { method: target.method, headers, body: bytes }
      : {
        method: target.method,
        headers: { ...headers, "content-length": String(total) },
        body: countingStream(bytes, onProgress),
        duplex: "half"
      }
    onProgress?.(0, total)
    const response = yield* Effect.tryPromise({
      try: (signal) => fetch(target.url, { ...init, signal }),
      catch: (cause) => networkError(target, cause)
    })
    if (!response.ok) {
      const text = yield* Effect.promise(() => response.text().catch(() => ""))
      return yield* Effect.fail(fromResponse(response.status, text))
    }
    yield* Effect.promise(() => response.arrayBuffer().catch(() => undefined))
    onProgress?.(total, total)
  })

/** PUTs the body to the presigned target; fails with the storage's error (its JSON code when it has one). */
export const putObject = (
  target: UploadTarget,
  body: UploadBody,
  onProgress?: ProgressListener
): Effect.Effect<void, ImgpipeError> => {
  const Request = onProgress === undefined ? undefined : xhrConstructor()
  return Request !== undefined && onProgress !== undefined
    ? viaXhr(Request, target, body, onProgress)
    : viaFetch(target, body, onProgress)
}
