/**
 * The public API as an app calls it: uploads and waiting go through `@imgpipe/client` (the client
 * apps use), the single requests below stay plain `fetch` so tests can look at raw answers.
 */
import { createClient, ImgpipeError } from "@imgpipe/client/node"
import { readFileSync } from "node:fs"
import { extname, join, resolve } from "node:path"

export const fixturesDir = resolve(import.meta.dirname, "../../../core/test/fixtures/images")
export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(fixturesDir, name)))

const typeByExtension: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".avif": "image/avif",
  ".tiff": "image/tiff",
  ".tif": "image/tiff",
  ".heic": "image/heic"
}
export const contentTypeOf = (name: string): string =>
  typeByExtension[extname(name).toLowerCase()] ?? "application/octet-stream"

export interface UploadTicket {
  readonly image_id: string
  readonly upload: { readonly method: string; readonly url: string; readonly headers: Record<string, string> }
  readonly expires_at: string
}

export const requestUpload = async (
  baseUrl: string,
  body: { content_type: string; content_length: number },
  headers: Record<string, string> = {}
): Promise<Response> =>
  fetch(`${baseUrl}/upload`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

/** POST /upload then PUT the bytes to the returned URL with the returned headers (the client's `upload`). */
export const uploadBytes = async (
  baseUrl: string,
  bytes: Uint8Array,
  contentType: string
): Promise<{ readonly image_id: string }> => ({
  image_id: await createClient({ baseUrl }).upload(bytes, { contentType })
})

export interface RenditionStatus {
  readonly status: "pending" | "ready" | "failed"
  readonly width: number | null
  readonly height: number | null
  readonly bytes: number | null
  readonly content_type: string | null
}

export interface ImageStatus {
  readonly image_id: string
  readonly status: "awaiting_upload" | "processing" | "ready" | "failed" | "expired"
  readonly original: {
    content_type: string
    bytes: number | null
    width: number | null
    height: number | null
    format: string | null
  } | null
  readonly renditions: Record<"small" | "medium" | "large", RenditionStatus>
  readonly error?: { code: string; message: string } | undefined
}

export const getStatus = async (baseUrl: string, imageId: string): Promise<ImageStatus> => {
  const res = await fetch(`${baseUrl}/images/${imageId}`)
  if (!res.ok) throw new Error(`/images/${imageId} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as ImageStatus
}

/**
 * Polls the status until processing has started. Like S3, the storage answers the PUT once the
 * object is stored and delivers the notification right after, so a client (or a test that drives
 * the queues by hand) that needs the jobs to exist waits for `processing`.
 */
export const waitUntilStarted = async (baseUrl: string, imageId: string, timeoutMs = 10_000): Promise<ImageStatus> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await getStatus(baseUrl, imageId)
    if (status.status !== "awaiting_upload") return status
    if (Date.now() > deadline) throw new Error(`image ${imageId} still awaiting_upload ${timeoutMs} ms after its PUT`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** POST /upload, PUT the bytes, then wait until processing has started (see `waitUntilStarted`). */
export const uploadAndStart = async (
  baseUrl: string,
  bytes: Uint8Array,
  contentType: string
): Promise<{ readonly image_id: string }> => {
  const ticket = await uploadBytes(baseUrl, bytes, contentType)
  await waitUntilStarted(baseUrl, ticket.image_id)
  return ticket
}

/**
 * The status once the image is ready or failed (or expired), through the client's `waitUntilReady`
 * (the status events, polling when there are none); throws when the time runs out.
 */
export const waitUntilSettled = (baseUrl: string, imageId: string, timeoutMs = 60_000): Promise<ImageStatus> =>
  createClient({ baseUrl }).waitUntilReady(imageId, { timeoutMs }).catch((error: unknown) => {
    if (error instanceof ImgpipeError && error.image !== undefined) return error.image
    throw error
  })

export const getImage = (baseUrl: string, imageId: string, size: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${baseUrl}/get_image?image_id=${encodeURIComponent(imageId)}&image_size=${encodeURIComponent(size)}`, {
    redirect: "manual",
    ...init
  })
