/**
 * The `events` group: an image's status as server-sent events. Same bearer keys as `images`.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { Authorization } from "../images/Api.js"
import { withResponseHeaders } from "../openapi.js"
import { ImageIdParam } from "../schemas.js"

/** The success body as documented: the event stream itself (the handler writes it). */
export const EventStreamBody = HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
  description: "`retry: <ms>` once, then `event: status` events (`id:` a tag of the state, `data:` the status JSON " +
    "of GET /images/{image_id}): the status at once, then one per change; the stream ends after a final " +
    "status (ready, failed, expired). `: keepalive` comment lines keep idle connections open."
})

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("imageEvents", "/images/:image_id/events")
      .setPath(Schema.Struct({ image_id: ImageIdParam }))
      .setHeaders(
        Schema.Struct({
          "last-event-id": Schema.optional(Schema.String).annotations({
            description: "Sent by EventSource when it reconnects: the `id` of the last event it got. When that " +
              "is the image's final status, the answer is 204 (EventSource then stops reconnecting)."
          })
        })
      )
      .addSuccess(EventStreamBody)
      .addSuccess(
        HttpApiSchema.Empty(204).annotations({
          description: "The client's Last-Event-ID is already the image's final status: nothing more will come."
        })
      )
      .addError(ErrorBody.BadRequest)
      .addError(ErrorBody.NotFound)
      .annotateContext(
        OpenApi.annotations({
          summary: "Image status events",
          description: "Server-sent events (`text/event-stream`) of the image's status: an `event: status` with the " +
            "current status JSON at once, then one on every change (each size recorded, failed, ready, expired), " +
            "closed after a final status. A heartbeat comment `: keepalive` every 15 s " +
            "(IMGPIPE_SSE_HEARTBEAT). Use EventSource, or `curl -N`. Unknown ids get 404 before the stream starts.",
          transform: (operation) =>
            withResponseHeaders(operation, {
              200: {
                "Cache-Control": { description: "Always `no-cache`.", schema: { type: "string" } },
                "X-Accel-Buffering": {
                  description: "Always `no`, so proxies that honour it (nginx) pass each event on at once.",
                  schema: { type: "string" }
                }
              }
            })
        })
      )
  )
  .middleware(Authorization)
  .annotateContext(OpenApi.annotations({ title: "events", description: "Follow an image's processing as it happens." }))
{}
