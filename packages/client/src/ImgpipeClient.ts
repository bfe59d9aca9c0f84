/**
 * The Effect client: the typed `HttpApiClient` of the contract (`@imgpipe/api/Api`, the same
 * definition the server implements) with the bearer keys attached, and the few steps a caller
 * needs on top of single endpoints: upload (POST /upload then PUT to storage), wait until an image
 * is done (server-sent events, falling back to polling), the public image URL.
 *
 * Needs an `HttpClient` (`FetchHttpClient.layer` works in Node and browsers). Every failure is an
 * `ImgpipeError` carrying the API's own `{ error, message }` code and the HTTP status.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Api } from "@imgpipe/api/Api"
import type { ServedImageBody } from "@imgpipe/api/delivery/Api"
import type { RequestedFormat } from "@imgpipe/core/domain/delivery"
import { ImageId as ImageIdSchema } from "@imgpipe/core/domain/ids"
import type { ImageId } from "@imgpipe/core/domain/ids"
import type { ImageSize } from "@imgpipe/core/domain/sizes"
import { ImageStatusJson } from "@imgpipe/core/domain/statusJson"
import { Context, Duration, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import { contentTypeFromBytes, contentTypeFromName } from "./contentType.js"
import { fromResponse, ImgpipeError, toImgpipeError } from "./errors.js"
import { type ProgressListener, putObject, type UploadBody } from "./put.js"
import { parseEvents } from "./sse.js"

export type ImageStatus = ImageStatusJson
export type { ImageId, ImageSize, RequestedFormat }

/** What `get_image` described (its JSON form, from the contract) and the bytes at its URL. */
export type DownloadedImage = typeof ServedImageBody.Type & { readonly data: Uint8Array }

export interface GetImageUrlOptions {
  /** `jpeg` (the baseline), `webp`, `avif`, or `auto` (the default: by the browser's Accept). */
  readonly format?: RequestedFormat | undefined
}

export interface DownloadOptions {
  /** The encoding wanted (default: the baseline); a missing one falls back (AVIF → WebP → baseline). */
  readonly format?: RequestedFormat | undefined
}

export interface ClientOptions {
  /** Where the API is, e.g. `http://localhost:3000` or `https://api.example.com`. */
  readonly baseUrl: string | URL
  /** An upload key (`IMGPIPE_API_KEYS`) for `/upload` and `/images/*`; none for an open server. */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  /** An admin key (`IMGPIPE_ADMIN_KEYS`) for `/admin/*` and `/metrics`. */
  readonly adminKey?: string | Redacted.Redacted<string> | undefined
}

const reveal = (key: string | Redacted.Redacted<string> | undefined): string | undefined =>
  key === undefined ? undefined : Redacted.isRedacted(key) ? Redacted.value(key) : key

const baseOf = (options: ClientOptions): string => options.baseUrl.toString().replace(/\/+$/, "")

/** The admin API and the metrics take the admin key (whatever path the base URL adds in front). */
const ADMIN_PATH = /\/admin\/|\/metrics$/

const pathOf = (url: string): string => {
  try {
    return new URL(url, "http://base.invalid").pathname
  } catch {
    return url
  }
}

/** Attaches the admin key to `/admin/*` and `/metrics`, the upload key to everything else. */
export const withKeys = (options: ClientOptions) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.mapRequest(client, (request) => {
    const key = ADMIN_PATH.test(pathOf(request.url)) ? reveal(options.adminKey) : reveal(options.apiKey)
    return key === undefined || key === "" ? request : HttpClientRequest.bearerToken(request, key)
  })

/** The typed client of the whole contract (`client.images.upload(…)`, `client.admin.queues()`…). */
export const makeApiClient = (options: ClientOptions) =>
  HttpApiClient.make(Api, { baseUrl: baseOf(options), transformClient: withKeys(options) })

export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeApiClient>>

export interface UploadOptions {
  /** Defaults to the Blob's type, else the file name's extension, else the format the first bytes announce. */
  readonly contentType?: string | undefined
  /** A file name, used only to find the content type from its extension. */
  readonly name?: string | undefined
  /** Bytes sent to storage so far, and in all. */
  readonly onProgress?: ProgressListener | undefined
  /** Where to POST this image's signed webhook when it is done (https; replaces IMGPIPE_WEBHOOK_URL). */
  readonly callbackUrl?: string | undefined
}

export interface WaitOptions {
  /** Give up (`timeout`) after this long; unbounded by default. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Called with every status seen on the way (each event, or each poll when there are no events). */
  readonly onStatus?: ((status: ImageStatus) => void) | undefined
  /** The pause between polls when events are not available. */
  readonly pollInterval?: Duration.DurationInput | undefined
}

export interface ListImagesOptions {
  readonly status?: ImageStatus["status"] | undefined
  readonly olderThanSeconds?: number | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

const TERMINAL: ReadonlySet<string> = new Set(["ready", "failed", "expired"])
export const isTerminal = (status: ImageStatus): boolean => TERMINAL.has(status.status)

/** `ready` succeeds; `failed` and `expired` fail with the image's error code and its status JSON. */
const settle = (status: ImageStatus): Effect.Effect<ImageStatus, ImgpipeError> =>
  status.status === "ready"
    ? Effect.succeed(status)
    : Effect.fail(
      new ImgpipeError({
        code: status.error?.code ?? status.status,
        message: status.error?.message ??
          (status.status === "expired"
            ? "the upload never arrived and the record expired"
            : `the image ended ${status.status}`),
        image: status
      })
    )

/** An id checked before it is sent (the typed client would refuse to encode it anyway). */
const imageId = (id: string): Effect.Effect<ImageId, ImgpipeError> =>
  Schema.decodeUnknown(ImageIdSchema)(id.toLowerCase()).pipe(
    Effect.mapError(() =>
      new ImgpipeError({ code: "bad_request", message: `${JSON.stringify(id)} is not an image id (a UUID)` })
    )
  )

const decodeStatusEvent = Schema.decodeUnknown(Schema.parseJson(ImageStatusJson))

const contentTypeOf = (body: UploadBody, options: UploadOptions): Effect.Effect<string> =>
  Effect.gen(function* () {
    if (options.contentType !== undefined) return options.contentType
    if (body instanceof Blob && body.type !== "") return body.type
    const name = options.name ?? (body instanceof Blob && "name" in body ? String(body.name) : undefined)
    const fromName = name === undefined ? undefined : contentTypeFromName(name)
    if (fromName !== undefined) return fromName
    const head = body instanceof Uint8Array
      ? body.subarray(0, 16)
      : new Uint8Array(yield* Effect.promise(() => body.slice(0, 16).arrayBuffer()))
    // Unknown: say so, and let the server answer 415 with the accepted types.
    return contentTypeFromBytes(head) ?? "application/octet-stream"
  })

export const make = (options: ClientOptions) =>
  Effect.gen(function* () {
    const api = yield* makeApiClient(options)
    const http = yield* HttpClient.HttpClient
    const base = baseOf(options)
    const call = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.catchAll(effect, (e) => Effect.flip(toImgpipeError(e)))

    const status = (id: string) =>
      Effect.flatMap(imageId(id), (image_id) => call(api.images.status({ path: { image_id } })))

    const upload = (body: UploadBody, uploadOptions: UploadOptions = {}) =>
      Effect.gen(function* () {
        const contentType = yield* contentTypeOf(body, uploadOptions)
        const length = body instanceof Uint8Array ? body.byteLength : body.size
        const ticket = yield* call(
          api.images.upload({
            payload: {
              content_type: contentType,
              content_length: length,
              ...(uploadOptions.callbackUrl === undefined ? {} : { callback_url: uploadOptions.callbackUrl })
            }
          })
        )
        yield* putObject(ticket.upload, body, uploadOptions.onProgress)
        return ticket.image_id
      })

    /**
     * The image's status events (`GET /images/{id}/events`): the current status at once, then each
     * change; ends after a terminal status. Fails when the server has no event stream to give.
     */
    const events = (id: string): Stream.Stream<ImageStatus, ImgpipeError> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const image_id = yield* imageId(id)
          const request = HttpClientRequest.get(`${base}/images/${image_id}/events`).pipe(
            HttpClientRequest.accept("text/event-stream")
          )
          const response = yield* call(withKeys(options)(http).execute(request))
          const type = response.headers["content-type"] ?? ""
          if (response.status !== 200 || !type.startsWith("text/event-stream")) {
            const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
            return yield* Effect.fail(
              new ImgpipeError({
                code: response.status === 200 ? "invalid_response" : `http_${response.status}`,
                status: response.status,
                message: `no event stream (${response.status} ${type}): ${text.slice(0, 200)}`
              })
            )
          }
          return parseEvents(response.stream).pipe(
            Stream.filter((event) => event.event === "status"),
            Stream.mapEffect((event) => call(decodeStatusEvent(event.data))),
            Stream.takeUntil(isTerminal),
            Stream.catchAll((e) =>
              Stream.fail(
                e instanceof ImgpipeError ? e : new ImgpipeError({ code: "network_error", message: String(e) })
              )
            )
          )
        })
      )

    /** Polls `GET /images/{id}` until a terminal status (the fallback when events are not there). */
    const poll = (id: string, waitOptions: WaitOptions): Effect.Effect<ImageStatus, ImgpipeError> =>
      status(id).pipe(
        Effect.tap((s) => waitOptions.onStatus?.(s)),
        Effect.flatMap((s) =>
          isTerminal(s)
            ? Effect.succeed(s)
            : Effect.sleep(waitOptions.pollInterval ?? Duration.millis(500)).pipe(
              Effect.zipRight(Effect.suspend(() => poll(id, waitOptions)))
            )
        )
      )

    /**
     * Resolves with the status JSON once the image is `ready`; fails with `ImgpipeError` (the
     * image's error code, `image` set) when it ends `failed` or `expired`. Listens to the events;
     * when the server has none (404, 501, an older server, a proxy that cuts streams) or the stream
     * ends before a terminal status, it polls the status instead, which also gives the final word
     * on an unknown id (`not_found`).
     */
    const waitUntilReady = (id: string, waitOptions: WaitOptions = {}) => {
      const viaEvents = events(id).pipe(
        Stream.tap((s) => Effect.sync(() => waitOptions.onStatus?.(s))),
        Stream.filter(isTerminal),
        Stream.runHead,
        Effect.orElseSucceed(() => Option.none<ImageStatus>())
      )
      const settled = viaEvents.pipe(
        Effect.flatMap((head): Effect.Effect<ImageStatus, ImgpipeError> =>
          Option.isSome(head) ? Effect.succeed(head.value) : poll(id, waitOptions)
        ),
        Effect.flatMap(settle)
      )
      return waitOptions.timeout === undefined ? settled : settled.pipe(
        Effect.timeoutFail({
          duration: waitOptions.timeout,
          onTimeout: () =>
            new ImgpipeError({
              code: "timeout",
              message: `image ${id} was not done after ${Duration.format(Duration.decode(waitOptions.timeout!))}`
            })
        })
      )
    }

    /**
     * The public URL of a size (`GET /get_image`): redirects to the best stored size; fit for
     * `<img src>`. Without `format` (or with `auto`) the browser's Accept header picks AVIF/WebP/JPEG.
     */
    const getImageUrl = (id: string, size: ImageSize, options: GetImageUrlOptions = {}): string =>
      `${base}/get_image?image_id=${encodeURIComponent(id)}&image_size=${encodeURIComponent(size)}${
        options.format === undefined ? "" : `&format=${encodeURIComponent(options.format)}`
      }`

    /**
     * The bytes of a size as `get_image` serves it (the requested size, or a fallback while
     * processing is unfinished: `served_size` says which), through its JSON form and its URL. The
     * baseline (JPEG; WebP with alpha) unless `format` names another encoding (`format` says which
     * was served: a missing one falls back).
     */
    const download = (id: string, size: ImageSize, options: DownloadOptions = {}) =>
      Effect.gen(function* () {
        const image_id = yield* imageId(id)
        const served = yield* call(api.delivery.getImage({
          urlParams: {
            image_id,
            image_size: size,
            ...(options.format === undefined ? {} : { format: options.format })
          },
          headers: { accept: "application/json" }
        }))
        if (served === undefined) {
          return yield* new ImgpipeError({ code: "invalid_response", message: "get_image redirected a JSON request" })
        }
        const response = yield* call(http.get(served.url))
        if (response.status !== 200) {
          const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
          return yield* Effect.fail(fromResponse(response.status, text))
        }
        const data = new Uint8Array(yield* call(response.arrayBuffer))
        return { ...served, data } satisfies DownloadedImage
      })

    const listImages = (list: ListImagesOptions = {}) =>
      call(api.admin.listImages({
        urlParams: {
          ...(list.status === undefined ? {} : { status: list.status }),
          ...(list.olderThanSeconds === undefined ? {} : { older_than_seconds: list.olderThanSeconds }),
          ...(list.limit === undefined ? {} : { limit: list.limit }),
          ...(list.cursor === undefined ? {} : { cursor: list.cursor })
        }
      }))

    const reprocess = (id: string, sizes?: ReadonlyArray<ImageSize>) =>
      Effect.flatMap(imageId(id), (image_id) =>
        call(api.admin.reprocess({
          path: { image_id },
          payload: sizes === undefined || sizes.length === 0 ? {} : { sizes: [...sizes] }
        })))

    const queues = () => call(api.admin.queues()).pipe(Effect.map((body) => body.queues))
    const redriveDlq = () => call(api.admin.redrive()).pipe(Effect.map((body) => body.redrives))

    return {
      api,
      upload,
      status,
      events,
      waitUntilReady,
      getImageUrl,
      download,
      listImages,
      reprocess,
      queues,
      redriveDlq
    } as const
  })

export type ImgpipeClientService = Effect.Effect.Success<ReturnType<typeof make>>

/** The client as a service: `yield* ImgpipeClient` in a program, `ImgpipeClient.layer(options)` to provide it. */
export class ImgpipeClient extends Context.Tag("@imgpipe/client/ImgpipeClient")<ImgpipeClient, ImgpipeClientService>() {
  /** Over the `HttpClient` in context. */
  static readonly layerWith = (options: ClientOptions) => Layer.effect(ImgpipeClient, make(options))
  /** Over `fetch` (Node ≥ 20 and browsers). */
  static readonly layer = (options: ClientOptions) =>
    ImgpipeClient.layerWith(options).pipe(Layer.provide(FetchHttpClient.layer))
}
