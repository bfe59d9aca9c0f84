/**
 * `@imgpipe/client`: the imgpipe API from TypeScript, in Node (≥ 20) and browsers.
 *
 * - Promise style: `createClient({ baseUrl, apiKey })` → `upload`, `waitUntilReady`, `status`,
 *   `getImageUrl` (and the admin calls with an `adminKey`).
 * - Effect style: `ImgpipeClient` (a service; `ImgpipeClient.layer(options)`), or `makeApiClient`
 *   for the raw typed `HttpApiClient` of the contract.
 *
 * This entry imports no `node:` module (a browser bundle takes it as is); in Node the package
 * resolves to `./node.ts`, which adds uploads by file path.
 */
import type { ClientOptions } from "./ImgpipeClient.js"
import { type ImgpipeClientPromise, makePromiseClient } from "./promise.js"

export { contentTypeFromBytes, contentTypeFromName } from "./contentType.js"
export { ImgpipeError } from "./errors.js"
export {
  type ApiClient,
  type ClientOptions,
  type DownloadedImage,
  type DownloadOptions,
  type GetImageUrlOptions,
  type ImageId,
  type ImageSize,
  type ImageStatus,
  ImgpipeClient,
  type ImgpipeClientService,
  isTerminal,
  type ListImagesOptions,
  make,
  makeApiClient,
  type RequestedFormat,
  type UploadOptions,
  type WaitOptions,
  withKeys
} from "./ImgpipeClient.js"
export type { CallOptions, ImgpipeClientPromise, PromiseUploadOptions, WaitUntilReadyOptions } from "./promise.js"
export type { ProgressListener, UploadBody } from "./put.js"

/** The Promise client. Uploading by file path needs the Node entry (`@imgpipe/client/node`, chosen automatically in Node). */
export const createClient = (options: ClientOptions): ImgpipeClientPromise => makePromiseClient(options, undefined)
