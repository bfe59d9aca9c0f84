/**
 * The embedded runner's stand-in for CloudFront (`IMGPIPE_DELIVERY=cdn`): `GET|HEAD
 * /cdn/<image_id>/<size>[.webp|.avif]` serves a processed object at a stable, unsigned URL, cacheable
 * for a year (renditions never change: a new image gets a new id), with a strong `ETag` (the MD5 kept
 * in the object's sidecar, so no request reads the bytes to make it) and `If-None-Match` → 304.
 *
 * Only processed keys of exactly that form are served: no original, no other path (anything else is
 * a 404, so a traversal attempt learns nothing). Mounted only in `cdn` mode: with `signed` the
 * renditions are private and these paths do not exist.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { EXTRA_FORMATS, IMAGE_SIZES, RENDITION_CACHE_CONTROL } from "@imgpipe/core"
import { DiskStorage } from "@imgpipe/core/local/disk-service"
import { Effect, Option } from "effect"
import { objectResponse } from "./object-response.js"

/** Where the routes live; `IMGPIPE_CDN_URL` defaults to `${IMGPIPE_PUBLIC_URL}${CDN_PATH}`. */
export const CDN_PATH = "/cdn"

/** `<uuid>/<size>` or `<uuid>/<size>.<extra>`: lower-case ids, as they are stored. */
const CDN_KEY = new RegExp(
  `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/(?:${IMAGE_SIZES.join("|")})(?:\\.(?:${
    EXTRA_FORMATS.join("|")
  }))?$`
)

/** The processed key a `/cdn/*` path names, if it names one. */
export const cdnKeyOf = (path: string): Option.Option<string> => Option.liftPredicate(path, (p) => CDN_KEY.test(p))

const notFound = HttpServerResponse.unsafeJson(
  { error: "not_found", message: "no image at this URL" },
  { status: 404, headers: { "cache-control": "no-store" } }
)

const serve = Effect.gen(function* () {
  const disk = yield* DiskStorage
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpRouter.params
  const key = cdnKeyOf(params["*"] ?? "")
  if (Option.isNone(key)) return notFound
  const opened = yield* disk.open("processed", key.value)
  if (Option.isNone(opened)) return notFound
  return objectResponse(request, opened.value, Option.some(RENDITION_CACHE_CONTROL))
}).pipe(
  Effect.catchTag(
    "StorageError",
    (error) =>
      Effect.logError("cdn route: the object could not be read", { key: error.key, message: error.message }).pipe(
        Effect.as(
          HttpServerResponse.unsafeJson(
            { error: "storage_unavailable", message: "the object could not be read; try again later" },
            { status: 503, headers: { "cache-control": "no-store" } }
          )
        )
      )
  )
)

/** `GET|HEAD /cdn/*` over `DiskStorage`. */
export const makeCdnRouter = (): HttpRouter.HttpRouter<never, DiskStorage> =>
  HttpRouter.empty.pipe(
    HttpRouter.get(`${CDN_PATH}/*`, serve),
    HttpRouter.head(`${CDN_PATH}/*`, serve)
  )
