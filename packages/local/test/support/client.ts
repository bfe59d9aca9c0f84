/** A plain-fetch client of the public API, as a mobile or web app would call it. */
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

/** POST /upload then PUT the bytes to the returned URL with the returned headers. */
export const uploadBytes = async (baseUrl: string, bytes: Uint8Array, contentType: string): Promise<UploadTicket> => {
  const res = await requestUpload(baseUrl, { content_type: contentType, content_length: bytes.byteLength })
  if (res.status !== 201) throw new Error(`/upload answered ${res.status}: ${await res.text()}`)
  const ticket = (await res.json()) as UploadTicket
  const put = await fetch(ticket.upload.url, {
    method: ticket.upload.method,
    headers: ticket.upload.headers,
    body: bytes
  })
  if (!put.ok) throw new Error(`PUT answered ${put.status}: ${await put.text()}`)
  return ticket
}

export interface RenditionStatus {
  readonly status: "pending" | "ready" | "failed"
  readonly width: number | null
  readonly height: number | null
  readonly bytes: number | null
  readonly content_type: string | null
}

export interface ImageStatus {
  readonly image_id: string
  readonly status: "awaiting_upload" | "processing" | "ready" | "failed"
  readonly original: {
    content_type: string
    bytes: number
    width: number | null
    height: number | null
    format: string | null
  } | null
  readonly renditions: Record<"small" | "medium" | "large", RenditionStatus>
  readonly error?: { code: string; message: string }
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
): Promise<UploadTicket> => {
  const ticket = await uploadBytes(baseUrl, bytes, contentType)
  await waitUntilStarted(baseUrl, ticket.image_id)
  return ticket
}

/** Polls the status until it is ready or failed (or the time runs out). */
export const waitUntilSettled = async (baseUrl: string, imageId: string, timeoutMs = 60_000): Promise<ImageStatus> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await getStatus(baseUrl, imageId)
    if (status.status === "ready" || status.status === "failed") return status
    if (Date.now() > deadline) throw new Error(`image ${imageId} still ${status.status} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export const getImage = (baseUrl: string, imageId: string, size: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${baseUrl}/get_image?image_id=${encodeURIComponent(imageId)}&image_size=${encodeURIComponent(size)}`, {
    redirect: "manual",
    ...init
  })
