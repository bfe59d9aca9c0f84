/**
 * The `delivery` group: `get_image`, public so that `<img src>` works (ids are unguessable).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { ImageId } from "@imgpipe/core/domain/ids"
import { ImageSize, ServedSize } from "@imgpipe/core/domain/sizes"
import { Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { withResponseHeaders } from "../openapi.js"
import { ImageIdParam, IsoDate, NullableInt, SizeParam } from "../schemas.js"

export const ServedImageBody = Schema.Struct({
  image_id: ImageId,
  requested_size: ImageSize,
  served_size: ServedSize.annotations({
    description: "What was served: the requested size, another ready size, or the original while processing."
  }),
  url: Schema.String.annotations({ description: "Signed URL of the image; valid until expires_at." }),
  content_type: Schema.String,
  width: NullableInt.annotations({ description: "null for an original not yet probed." }),
  height: NullableInt,
  bytes: NullableInt,
  expires_at: IsoDate
}).annotations({ identifier: "ServedImage" })

export const GetImageParams = Schema.Struct({ image_id: ImageIdParam, image_size: SizeParam })

/** Response headers of `get_image`, documented on the operation (the generator has no slot for them). */
const getImageHeaders = {
  "X-Image-Size": {
    description: "The size served: small, medium, large or original.",
    schema: { type: "string", enum: ["small", "medium", "large", "original"] }
  },
  "Cache-Control": {
    description:
      "`public, max-age=300` (at most a quarter of the URL's remaining lifetime) when the requested size was served; " +
      "`no-store` for a fallback, since the right size may be ready seconds later.",
    schema: { type: "string" }
  },
  Vary: { description: "Always `Accept`.", schema: { type: "string" } }
} as const

export class DeliveryGroup extends HttpApiGroup.make("delivery")
  .add(
    HttpApiEndpoint.get("getImage", "/get_image")
      .setUrlParams(GetImageParams)
      .setHeaders(
        Schema.Struct({
          accept: Schema.optional(Schema.String).annotations({
            description: "`application/json` to get the JSON description (200) instead of a redirect (302)."
          })
        })
      )
      .addSuccess(ServedImageBody)
      .addSuccess(
        HttpApiSchema.Empty(302).annotations({
          description: "Redirect to the image: Location is its signed URL, X-Image-Size names what was served."
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
            "original while processing is unfinished. With `Accept: application/json` answers 200 with the same " +
            "information instead. Public: no API key needed.",
          transform: (operation) =>
            withResponseHeaders(operation, {
              200: getImageHeaders,
              302: {
                Location: { description: "Signed URL of the image served.", schema: { type: "string" } },
                ...getImageHeaders
              }
            })
        })
      )
  )
  .annotateContext(OpenApi.annotations({ title: "delivery", description: "Serve images (public)." }))
{}
