/**
 * The Promise facade, for apps that do not use Effect: the same client (`ImgpipeClient.ts`) run
 * on `fetch`, every failure an `ImgpipeError` (`code`, `status`, `message`).
 */
import { FetchHttpClient } from "@effect/platform"
import { Cause, Effect, Exit, Option } from "effect"
import { ImgpipeError } from "./errors.js"
import {
  type ClientOptions,
  type DownloadedImage,
  type DownloadOptions,
  type GetImageUrlOptions,
  type ImageSize,
  type ImageStatus,
  type ListImagesOptions,
  make,
  type UploadOptions
} from "./ImgpipeClient.js"
import type { UploadBody } from "./put.js"

export interface CallOptions {
  /** Aborting rejects the call with `ImgpipeError` `aborted` and cancels its requests. */
  readonly signal?: AbortSignal | undefined
}

export interface PromiseUploadOptions extends UploadOptions, CallOptions {}

export interface WaitUntilReadyOptions extends CallOptions {
  /** Reject with `timeout` after this many milliseconds. */
  readonly timeoutMs?: number | undefined
  /** Called with every status seen while waiting. */
  readonly onStatus?: ((status: ImageStatus) => void) | undefined
}

/** Reads a file by path (Node only; the browser entry has none). */
export type FileReader = (path: string) => Promise<Uint8Array>

export interface ImgpipeClientPromise {
  /** POST /upload, then PUT the bytes to the returned URL; resolves with the image id. A string is a file path (Node). */
  readonly upload: (data: UploadBody | string, options?: PromiseUploadOptions) => Promise<string>
  /** `GET /images/{id}`. */
  readonly status: (id: string, options?: CallOptions) => Promise<ImageStatus>
  /** Resolves with the final status once `ready`; rejects (`ImgpipeError`, `image` set) on `failed` or `expired`. */
  readonly waitUntilReady: (id: string, options?: WaitUntilReadyOptions) => Promise<ImageStatus>
  /** The public `get_image` URL of a size (a redirect to the best stored size; `format` default: by Accept). */
  readonly getImageUrl: (id: string, size: ImageSize, options?: GetImageUrlOptions) => string
  /**
   * The bytes `get_image` serves for a size (`served_size` says which: a fallback while processing;
   * `format` which encoding), with its `placeholder`.
   */
  readonly download: (
    id: string,
    size: ImageSize,
    options?: DownloadOptions & CallOptions
  ) => Promise<DownloadedImage>
  /** Admin (an admin key): one page of images by status and age. */
  readonly listImages: (
    options?: ListImagesOptions & CallOptions
  ) => Promise<{ readonly images: ReadonlyArray<ImageStatus>; readonly next_cursor: string | null }>
  /** Admin: make sizes again from the stored original (default: every size not ready). */
  readonly reprocess: (id: string, sizes?: ReadonlyArray<ImageSize>, options?: CallOptions) => Promise<ImageStatus>
  /** Admin: depth, in flight and oldest age of each queue. */
  readonly queues: (options?: CallOptions) => Promise<
    ReadonlyArray<
      {
        readonly name: string
        readonly dead_letter: boolean
        readonly depth: number
        readonly in_flight: number
        readonly oldest_age_seconds: number | null
      }
    >
  >
  /** Admin: move dead-lettered jobs back to their queues. */
  readonly redriveDlq: (options?: CallOptions) => Promise<
    ReadonlyArray<{ readonly queue: string; readonly messages: number | null; readonly task_handle: string | null }>
  >
}

/** Runs an Effect of the client, rejecting with its `ImgpipeError` (not Effect's wrapper). */
const run = async <A>(effect: Effect.Effect<A, ImgpipeError>, signal: AbortSignal | undefined): Promise<A> => {
  if (signal?.aborted) throw new ImgpipeError({ code: "aborted", message: "aborted before it started" })
  const exit = await Effect.runPromiseExit(effect, signal === undefined ? undefined : { signal })
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) throw failure.value
  if (Cause.isInterruptedOnly(exit.cause)) throw new ImgpipeError({ code: "aborted", message: "aborted" })
  throw Cause.squash(exit.cause)
}

/** The facade over the Effect client, with `readFile` for uploads by path where there is a file system. */
export const makePromiseClient = (
  options: ClientOptions,
  readFile: FileReader | undefined
): ImgpipeClientPromise => {
  const client = Effect.runSync(make(options).pipe(Effect.provide(FetchHttpClient.layer)))
  const readPath = (path: string): Effect.Effect<Uint8Array, ImgpipeError> =>
    readFile === undefined
      ? Effect.fail(
        new ImgpipeError({
          code: "unsupported",
          message: "uploading by file path needs Node (import @imgpipe/client/node); pass bytes or a Blob"
        })
      )
      : Effect.tryPromise({
        try: () => readFile(path),
        catch: (cause) =>
          new ImgpipeError({
            code: "file_unreadable",
            message: `cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`
          })
      })
  return {
    upload: (data, uploadOptions = {}) =>
      run(
        typeof data === "string"
          ? Effect.flatMap(readPath(data), (bytes) => client.upload(bytes, { name: data, ...uploadOptions }))
          : client.upload(data, uploadOptions),
        uploadOptions.signal
      ),
    status: (id, call = {}) => run(client.status(id), call.signal),
    waitUntilReady: (id, wait = {}) =>
      run(
        client.waitUntilReady(id, {
          timeout: wait.timeoutMs === undefined ? undefined : wait.timeoutMs,
          onStatus: wait.onStatus
        }),
        wait.signal
      ),
    getImageUrl: client.getImageUrl,
    download: (id, size, call = {}) => run(client.download(id, size, { format: call.format }), call.signal),
    listImages: (list = {}) => run(client.listImages(list), list.signal),
    reprocess: (id, sizes, call = {}) => run(client.reprocess(id, sizes), call.signal),
    queues: (call = {}) => run(client.queues(), call.signal),
    redriveDlq: (call = {}) => run(client.redriveDlq(), call.signal)
  }
}
