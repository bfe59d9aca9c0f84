/**
 * The `admin` group: list images by status and age, reprocess one, see the queues, redrive the
 * dead-letter queue. Authorised by an admin key (`IMGPIPE_ADMIN_KEYS`) as a bearer key, separate
 * from the upload keys; which policy applies (keys, off, open on loopback) is a layer each runtime
 * picks (see `authorization.ts`).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { ImageStatus } from "@imgpipe/core/domain/image"
import { ImageSize } from "@imgpipe/core/domain/sizes"
import { ImageStatusJson } from "@imgpipe/core/domain/statusJson"
import { Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { ImageIdParam } from "../schemas.js"

export const ADMIN_LIST_DEFAULT_LIMIT = 50
export const ADMIN_LIST_MAX_LIMIT = 500

/** A whole number in a query string, `min` or more. */
const intParam = (min: number) => Schema.NumberFromString.pipe(Schema.int(), Schema.greaterThanOrEqualTo(min))

export const AdminImagesQuery = Schema.Struct({
  status: Schema.optional(
    ImageStatus.annotations({
      description: "Only images in this status.",
      message: () => ({
        message: "must be one of awaiting_upload, processing, ready, failed, expired",
        override: true
      })
    })
  ),
  older_than_seconds: Schema.optional(
    intParam(0).annotations({
      description: "Only images whose last change (updated_at) is at least this many seconds ago.",
      message: () => ({ message: "must be a whole number of seconds (0 or more)", override: true })
    })
  ),
  limit: Schema.optional(
    intParam(1).pipe(Schema.lessThanOrEqualTo(ADMIN_LIST_MAX_LIMIT)).annotations({
      description: `Page size (default ${ADMIN_LIST_DEFAULT_LIMIT}, at most ${ADMIN_LIST_MAX_LIMIT}).`,
      message: () => ({ message: `must be a whole number from 1 to ${ADMIN_LIST_MAX_LIMIT}`, override: true })
    })
  ),
  cursor: Schema.optional(
    Schema.String.annotations({ description: "next_cursor of the previous page (opaque)." })
  )
})

export const AdminImagesPage = Schema.Struct({
  images: Schema.Array(ImageStatusJson),
  next_cursor: Schema.NullOr(Schema.String).annotations({
    description: "Pass as cursor to get the next page; null on the last page."
  })
}).annotations({
  identifier: "AdminImagesPage",
  description: "Images oldest first (by created_at, then id)."
})

export const ReprocessBody = Schema.Struct({
  sizes: Schema.optional(
    Schema.Array(ImageSize).pipe(Schema.minItems(1)).annotations({
      description: "The sizes to make again (default: every size not ready).",
      message: () => ({ message: "must be a non-empty list of small, medium, large", override: true })
    })
  )
}).annotations({
  identifier: "ReprocessRequest",
  examples: [{ sizes: ["medium"] }],
  message: () => "The body must be a JSON object, e.g. {} or {\"sizes\":[\"medium\"]}."
})

export const QueueStatsBody = Schema.Struct({
  name: Schema.String.annotations({
    description: "small, medium, large (the size queues), dead_letter; webhooks and webhooks_dead_letter when present."
  }),
  dead_letter: Schema.Boolean,
  depth: Schema.Int.annotations({ description: "Messages waiting to be received." }),
  in_flight: Schema.Int.annotations({ description: "Messages received and not yet deleted (being worked on)." }),
  oldest_age_seconds: Schema.NullOr(Schema.Number).annotations({
    description: "Age of the oldest message, in seconds; null when empty or not known."
  })
}).annotations({ identifier: "QueueStats" })

export const QueuesBody = Schema.Struct({ queues: Schema.Array(QueueStatsBody) }).annotations({
  identifier: "Queues"
})

export const RedriveBody = Schema.Struct({
  redrives: Schema.Array(
    Schema.Struct({
      queue: Schema.String.annotations({ description: "The dead-letter queue redriven." }),
      messages: Schema.NullOr(Schema.Int).annotations({
        description: "Messages moved (embedded), or about to move (AWS: the approximate depth at the start)."
      }),
      task_handle: Schema.NullOr(Schema.String).annotations({
        description: "The SQS message move task (AWS), null when the move is done already (embedded)."
      })
    })
  )
}).annotations({ identifier: "Redrive" })

/**
 * `Authorization: Bearer <admin key>`. 401 without a key or with an unknown one, 403 `forbidden`
 * with an upload key, 403 `admin_disabled` when the server has no admin keys (and is not the
 * embedded runner on loopback, where the admin API is open).
 */
export class AdminAuthorization extends HttpApiMiddleware.Tag<AdminAuthorization>()("AdminAuthorization", {
  failure: Schema.Union(ErrorBody.Unauthorized, ErrorBody.Forbidden, ErrorBody.AdminDisabled),
  security: {
    adminBearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An admin key from IMGPIPE_ADMIN_KEYS.")
    )
  }
}) {}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.get("listImages", "/admin/images")
      .setUrlParams(AdminImagesQuery)
      .addSuccess(AdminImagesPage)
      .addError(ErrorBody.BadRequest)
      .annotateContext(
        OpenApi.annotations({
          summary: "List images",
          description: "Images by status and age, oldest first, a page at a time (follow next_cursor)."
        })
      )
  )
  .add(
    HttpApiEndpoint.post("reprocess", "/admin/images/:image_id/reprocess")
      .setPath(Schema.Struct({ image_id: ImageIdParam }))
      .setPayload(ReprocessBody)
      .addSuccess(ImageStatusJson, { status: 202 })
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.NotFound)
      .addError(ErrorBody.Conflict)
      .annotateContext(
        OpenApi.annotations({
          summary: "Reprocess an image",
          description: "Makes the given sizes (default: every size not ready) again from the stored original: the " +
            "image goes back to processing and one job per size is queued. 409 when no original is stored or its " +
            "content was refused."
        })
      )
  )
  .add(
    HttpApiEndpoint.get("queues", "/admin/queues")
      .addSuccess(QueuesBody)
      .annotateContext(
        OpenApi.annotations({
          summary: "Queue statistics",
          description: "Depth, in flight and oldest age of each size queue and of the dead-letter queue."
        })
      )
  )
  .add(
    HttpApiEndpoint.post("redrive", "/admin/dlq/redrive")
      .addSuccess(RedriveBody, { status: 202 })
      .annotateContext(
        OpenApi.annotations({
          summary: "Redrive the dead-letter queue",
          description:
            "Moves dead-lettered jobs back to their queues (AWS: an SQS message move task; embedded: at once)."
        })
      )
  )
  .middleware(AdminAuthorization)
  .annotateContext(
    OpenApi.annotations({ title: "admin", description: "Operate the service (needs an admin key)." })
  )
{}

/**
 * For `GET /metrics` (system group): `Authorization: Bearer <admin key>` when `IMGPIPE_ADMIN_KEYS`
 * is set, open when it is not (`MetricsAuthorizationLive` in `authorization.ts`).
 */
export class MetricsAuthorization extends HttpApiMiddleware.Tag<MetricsAuthorization>()("MetricsAuthorization", {
  failure: Schema.Union(ErrorBody.Unauthorized, ErrorBody.Forbidden),
  security: {
    adminBearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "An admin key from IMGPIPE_ADMIN_KEYS; required only when admin keys are configured."
      )
    )
  }
}) {}
