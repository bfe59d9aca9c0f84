/*
 * The three calls a client makes, as k6 requests. Every request carries an `endpoint` tag (the
 * thresholds and the report group by it) and a fixed `name`: upload and image URLs are unique per
 * image, and k6 would otherwise keep one time series per URL.
 */
import { check, sleep } from "k6"
import http from "k6/http"
import { API_KEY, BASE_URL } from "./config.js"

const UPLOAD_OK = http.expectedStatuses(201)
const PUT_OK = http.expectedStatuses({ min: 200, max: 299 })
const REDIRECT_OK = http.expectedStatuses(302)
/*
 * While polling right after the PUT, 404 ("nothing uploaded yet") is a normal answer on AWS: S3's
 * ObjectCreated notification reaches StartProcessing a moment after the PUT returns.
 */
const POLL_OK = http.expectedStatuses(302, 404)

/** Called with (endpoint tag, response) after every request: the latency timeline (timeline.js). */
let observer = null

/** Sets the function every response is handed to, with its endpoint tag (one per script, in init). */
export function observeResponses(fn) {
  observer = fn
}

function observed(endpoint, res) {
  if (observer !== null) observer(endpoint, res)
  return res
}

function authHeaders() {
  return API_KEY === "" ? {} : { authorization: `Bearer ${API_KEY}` }
}

/** POST /upload; returns the ticket, or null (the failure is already counted by checks and tags). */
export function requestUpload(image, endpoint) {
  const res = observed(
    endpoint || "upload",
    http.post(
      `${BASE_URL}/upload`,
      JSON.stringify({ content_type: image.contentType, content_length: image.size }),
      {
        headers: Object.assign({ "content-type": "application/json" }, authHeaders()),
        tags: { endpoint: endpoint || "upload", name: "POST /upload" },
        responseCallback: UPLOAD_OK
      }
    )
  )
  let ticket = null
  if (res.status === 201) {
    try {
      ticket = res.json()
    } catch (_error) {
      ticket = null
    }
  }
  const ok = check(res, {
    "upload: 201 with a ticket": () =>
      ticket !== null && typeof ticket.image_id === "string" && ticket.upload !== undefined
  })
  return ok ? ticket : null
}

/** The PUT of the bytes to the presigned URL, with exactly the headers the ticket names. */
export function putBytes(ticket, image, endpoint) {
  const res = observed(
    endpoint || "put",
    http.request(ticket.upload.method, ticket.upload.url, image.bytes, {
      headers: ticket.upload.headers,
      tags: { endpoint: endpoint || "put", name: "PUT storage" },
      responseCallback: PUT_OK
    })
  )
  return check(res, { "put: 2xx": (r) => r.status >= 200 && r.status < 300 })
}

/**
 * GET /get_image without following the redirect (the client would fetch the image from storage).
 * `endpoint` tags the request for the thresholds; get_image.js's setup uses another tag so that its
 * waiting does not count in the read budget.
 */
export function getImage(imageId, size, polling, endpoint) {
  return observed(
    endpoint || "get_image",
    http.get(`${BASE_URL}/get_image?image_id=${imageId}&image_size=${size}`, {
      redirects: 0,
      tags: { endpoint: endpoint || "get_image", name: "GET /get_image" },
      responseCallback: polling ? POLL_OK : REDIRECT_OK
    })
  )
}

/**
 * Polls get_image until it serves `size` itself, for at most `waitSeconds`. Starts at 250 ms and
 * backs off by 1.5× to 2 s, so a slow pipeline is not hammered by its own measurement; the
 * resolution of a time-to-ready is therefore about one poll interval.
 * Returns the milliseconds from `since` (upload complete) to the first answer that served `size`,
 * or null when the wait ran out.
 */
export function waitUntilServed(imageId, size, since, waitSeconds, endpoint) {
  const deadline = since + waitSeconds * 1000
  let interval = 0.25
  for (;;) {
    const res = getImage(imageId, size, true, endpoint)
    const served = res.headers["X-Image-Size"]
    if (res.status === 302 && served === size) return Date.now() - since
    if (res.status !== 302 && res.status !== 404) return null
    if (Date.now() + interval * 1000 > deadline) return null
    sleep(interval)
    interval = Math.min(2, interval * 1.5)
  }
}

const REFUSAL_POLL_OK = http.expectedStatuses(302, 404, 422)

/**
 * Polls get_image until the image is refused (422), for at most `waitSeconds`: for an upload the mix
 * expects the service to refuse (a HEIC declared as image/jpeg). While the refusal is pending the
 * answer is a fallback to the original (302) or 404. Returns the `error` code of the 422 answer, or
 * null when none came within the wait.
 */
export function waitUntilRefused(imageId, size, since, waitSeconds, endpoint) {
  const deadline = since + waitSeconds * 1000
  let interval = 0.25
  for (;;) {
    const res = observed(
      endpoint || "get_image",
      http.get(`${BASE_URL}/get_image?image_id=${imageId}&image_size=${size}`, {
        redirects: 0,
        tags: { endpoint: endpoint || "get_image", name: "GET /get_image" },
        responseCallback: REFUSAL_POLL_OK
      })
    )
    if (res.status === 422) {
      try {
        const body = res.json()
        return typeof body.error === "string" ? body.error : ""
      } catch (_error) {
        return ""
      }
    }
    if (res.status !== 302 && res.status !== 404) return null
    if (Date.now() + interval * 1000 > deadline) return null
    sleep(interval)
    interval = Math.min(2, interval * 1.5)
  }
}
