/**
 * Handler of the `delivery` group: `get_image` answers a redirect, or JSON when asked, in the
 * encoding `format=`/`Accept` choose, with a cache policy that never keeps a fallback.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { getImage, type ServedImage } from "@imgpipe/core"
import { toPlaceholderJson } from "@imgpipe/core/domain/statusJson"
import { Clock, Effect } from "effect"
import { Api } from "../Api.js"
import { unavailableOnInfrastructureError } from "../errorMapping.js"
import { NotFound, Rejected } from "../errors.js"
import { normalizeId } from "../schemas.js"
import { ServedImageBody } from "./Api.js"

/**
 * Cache policy of `get_image` (redirect and JSON alike):
 * - fallback (served ≠ requested): `no-store`. The requested size may be ready seconds later, and a
 *   cached fallback would keep serving the wrong size.
 * - exact, stable URL (`IMGPIPE_DELIVERY=cdn`, `expiresAt` null): `public, max-age=300`. The URL never
 *   changes, but a short life lets a size whose extras arrive later be re-negotiated soon.
 * - exact, signed URL: `public, max-age=N` with N = min(300 s, a quarter of the signed URL's
 *   remaining life). With the default 3600 s URLs that is 300 s, so whoever follows a cached answer
 *   still holds a URL valid for ≥ 45 minutes; it stays correct if the URL lifetime is configured
 *   much shorter. Under one second left → `no-store`.
 */
export const EXACT_MAX_AGE_SECONDS = 300
export const FALLBACK_CACHE_CONTROL = "no-store"

export const cacheControlFor = (served: Pick<ServedImage, "fallback" | "expiresAt">, nowMillis: number): string => {
  if (served.fallback) return FALLBACK_CACHE_CONTROL
  if (served.expiresAt === null) return `public, max-age=${EXACT_MAX_AGE_SECONDS}`
  const remaining = Math.floor((served.expiresAt.getTime() - nowMillis) / 1000)
  const maxAge = Math.min(EXACT_MAX_AGE_SECONDS, Math.floor(remaining / 4))
  return maxAge >= 1 ? `public, max-age=${maxAge}` : FALLBACK_CACHE_CONTROL
}

/** True when any `application/json` media range is acceptable (q > 0); `*` wildcards keep the redirect. */
export const wantsJson = (accept: string | undefined): boolean =>
  accept !== undefined &&
  accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase())
    if (type !== "application/json") return false
    const q = params.find((param) => param.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  })

const toServedImageBody = (served: ServedImage): typeof ServedImageBody.Type => ({
  image_id: served.imageId,
  requested_size: served.requestedSize,
  served_size: served.servedSize,
  format: served.format,
  url: served.url,
  content_type: served.contentType,
  width: served.width,
  height: served.height,
  bytes: served.bytes,
  expires_at: served.expiresAt,
  placeholder: toPlaceholderJson(served.placeholder)
})

const encodeServedImage = HttpServerResponse.schemaJson(ServedImageBody)

const deliveryResponse = (served: ServedImage, asJson: boolean) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const headers = {
      "x-image-size": served.servedSize,
      "cache-control": cacheControlFor(served, now),
      // The same URL answers JSON or a redirect depending on Accept; caches must keep them apart.
      vary: "Accept"
    }
    return asJson
      // Encoding our own decoded value cannot fail unless the schema and the code disagree: a bug.
      ? yield* Effect.orDie(encodeServedImage(toServedImageBody(served), { headers }))
      : HttpServerResponse.redirect(served.url, { status: 302, headers })
  })

export const DeliveryLive = HttpApiBuilder.group(
  Api,
  "delivery",
  (handlers) =>
    handlers.handle(
      "getImage",
      ({ headers, urlParams }) =>
        getImage({
          imageId: normalizeId(urlParams.image_id),
          size: urlParams.image_size,
          format: urlParams.format ?? "auto",
          accept: headers.accept
        }).pipe(
          Effect.flatMap((served) => deliveryResponse(served, wantsJson(headers.accept))),
          Effect.catchTags({
            ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
            ImageRejected: (e) => Effect.fail(new Rejected({ code: e.code, message: e.message }))
          }),
          unavailableOnInfrastructureError
        )
    )
)
