/**
 * The `delivery` group: `get_image`, public so that `<img src>` works (ids are unguessable).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { RequestedFormat } from "@imgpipe/core/domain/delivery"
import { ImageId } from "@imgpipe/core/domain/ids"
import { ImageSize, ServedSize } from "@imgpipe/core/domain/sizes"
import { PlaceholderJson } from "@imgpipe/core/domain/statusJson"
import { Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { withResponseHeaders } from "../openapi.js"
import { EXAMPLE_IMAGE_ID, ImageIdParam, IsoDate, NullableInt, SizeParam } from "../schemas.js"

const example = {
  image_id: EXAMPLE_IMAGE_ID,
  requested_size: "medium",
  served_size: "medium",
  format: "avif",
  url: `https://d111111abcdef8.cloudfront.net/${EXAMPLE_IMAGE_ID}/medium.avif`,
  content_type: "image/avif",
  width: 1024,
  height: 768,
  bytes: 48_213,
  expires_at: null,
  placeholder: { thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI", dominant_color: "#5a7d3c", width: 100, height: 75 }
} as const

export const ServedImageBody = Schema.Struct({
  image_id: ImageId,
  requested_size: ImageSize,
  served_size: ServedSize.annotations({
    description: "What was served: the requested size, another ready size, or the original while processing."
  }),
  format: Schema.String.annotations({
    description: "The encoding served: jpeg, webp or avif for a size (`jpeg` is the baseline; an image with " +
      "alpha has a WebP baseline); the original's own format (jpeg, png, webp, gif, avif, tiff) when the " +
      "original is served.",
    examples: ["avif", "webp", "jpeg"]
  }),
  url: Schema.String.annotations({
    description: "URL of the image. With IMGPIPE_DELIVERY=cdn a size's URL is stable and never expires " +
      "(`<cdn>/<image_id>/<size>[.webp|.avif]`); otherwise (and always for the original) it is signed and valid " +
      "until expires_at."
  }),
  content_type: Schema.String.annotations({ description: "Of the encoding served." }),
  width: NullableInt.annotations({ description: "null for an original not yet probed." }),
  height: NullableInt,
  bytes: NullableInt.annotations({ description: "Of the encoding served." }),
  expires_at: Schema.NullOr(IsoDate).annotations({
    description: "When url stops working; null when it does not expire."
  }),
  placeholder: Schema.NullOr(PlaceholderJson).annotations({
    description: "What to paint before the image loads; null until the small size is made."
  })
}).annotations({ identifier: "ServedImage", examples: [example] })

/** `format=`: jpeg, webp, avif or auto (the default: chosen by `Accept`). */
export const FormatParam = RequestedFormat.annotations({
  description: "The encoding wanted: `auto` (the default) chooses by the Accept header (AVIF, then WebP, when " +
    "Accept names them with q > 0; the baseline otherwise); `jpeg` is the baseline (WebP for an image with " +
    "alpha); `webp`/`avif` that encoding, falling back to WebP then the baseline when it was not made.",
  examples: ["auto"],
  message: () => ({ message: "must be one of jpeg, webp, avif, auto", override: true })
})

export const GetImageParams = Schema.Struct({
  image_id: ImageIdParam,
  image_size: SizeParam,
  format: Schema.optionalWith(FormatParam, { exact: true })
})

/** Response headers of `get_image`, documented on the operation (the generator has no slot for them). */
const getImageHeaders = {
  "X-Image-Size": {
    description: "The size served: small, medium, large or original.",
    schema: { type: "string", enum: ["small", "medium", "large", "original"] }
  },
  "Cache-Control": {
    description: "When the requested size was served: `public, max-age=300` (with signed URLs at most a " +
      "quarter of the URL's remaining lifetime); `no-store` for a fallback, since the right size may be ready " +
      "seconds later.",
    schema: { type: "string" }
  },
  Vary: {
    description: "Always `Accept`: the encoding and the answer's form (redirect or JSON) depend on it.",
    schema: { type: "string" }
  }
} as const

export class DeliveryGroup extends HttpApiGroup.make("delivery")
  .add(
    HttpApiEndpoint.get("getImage", "/get_image")
      .setUrlParams(GetImageParams)
      .setHeaders(
        Schema.Struct({
          accept: Schema.optional(Schema.String).annotations({
            description: "Chooses the encoding (`image/avif`, `image/webp` named explicitly, q-values honoured; " +
              "wildcards alone get the baseline) and, with `application/json`, the JSON description (200) " +
              "instead of a redirect (302).",
            examples: ["image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "application/json"]
          })
        })
      )
      .addSuccess(ServedImageBody)
      .addSuccess(
        HttpApiSchema.Empty(302).annotations({
          description: "Redirect to the image: Location is its URL, X-Image-Size names what was served."
        })
      )
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.NotFound)
      .addError(ErrorBody.Rejected)
      .annotateContext(
        OpenApi.annotations({
          summary: "Get an image in a size",
          description:
            "Redirects (302) to the requested size if ready; else to another ready size (smallest first); else to the " +
            "original while processing is unfinished. A size is served as AVIF or WebP when the Accept header " +
            "names them (or `format=` asks) and they were made, else as its baseline (JPEG; WebP with alpha); " +
            "never a 404 for a missing encoding. With IMGPIPE_DELIVERY=cdn sizes redirect to stable CDN URLs " +
            "(cached for a year); originals are always behind signed URLs. With `Accept: application/json` " +
            "answers 200 with the same information instead. Public: no API key needed.",
          transform: (operation) =>
            withResponseHeaders(operation, {
              200: getImageHeaders,
              302: {
                Location: { description: "URL of the image served (stable with cdn).", schema: { type: "string" } },
                ...getImageHeaders
              }
            })
        })
      )
  )
  .annotateContext(OpenApi.annotations({ title: "delivery", description: "Serve images (public)." }))
{}
