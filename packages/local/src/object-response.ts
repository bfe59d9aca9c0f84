/**
 * The answer to a GET or HEAD of a stored object, shared by the signed storage routes and the
 * unsigned `/cdn` routes: `ETag` from the object's sidecar, `If-None-Match` → 304, the object's
 * Content-Type and length, `nosniff`, and the body streamed from the open file.
 */
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import type { OpenedObject } from "@imgpipe/core/local/disk-service"
import { Option } from "effect"

export const quoted = (etag: string) => `"${etag}"`

/**
 * `If-None-Match` (RFC 9110 §13.1.2): `*` matches any existing object; otherwise a list of entity
 * tags compared weakly (a `W/` prefix is ignored).
 */
export const noneMatch = (header: string | undefined, etag: string): boolean => {
  if (header === undefined) return false
  if (header.trim() === "*") return true
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)
}

/** The object as an HTTP answer; `cacheControl` is sent when given (on the 304 too). */
export const objectResponse = (
  request: HttpServerRequest.HttpServerRequest,
  opened: OpenedObject,
  cacheControl: Option.Option<string>
): HttpServerResponse.HttpServerResponse => {
  const { bytes, meta, stream } = opened
  const headers: Record<string, string> = {
    // Uploaded bytes are only what the client claimed; never let a browser sniff them into HTML.
    "x-content-type-options": "nosniff"
  }
  if (Option.isSome(cacheControl)) headers["cache-control"] = cacheControl.value
  const etag = Option.map(meta, (m) => quoted(m.etag))
  if (Option.isSome(etag)) {
    headers["etag"] = etag.value
    if (noneMatch(request.headers["if-none-match"], etag.value)) {
      return HttpServerResponse.empty({ status: 304, headers })
    }
  }
  const contentType = Option.match(meta, { onNone: () => "application/octet-stream", onSome: (m) => m.contentType })
  // Set by hand as well: the body helper drops a Content-Length of 0.
  headers["content-length"] = String(bytes)
  if (request.method === "HEAD") {
    return HttpServerResponse.empty({ status: 200, headers: { ...headers, "content-type": contentType } })
  }
  // The file is opened when the server starts sending, and closed when it stops for any reason.
  return HttpServerResponse.stream(stream, { status: 200, contentType, contentLength: bytes, headers })
}
