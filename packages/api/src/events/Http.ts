/**
 * Handler of the `events` group: core's `watchStatus` (the status now, then each change, from the
 * process's one `ChangeFeed`) written as server-sent events. Only the encoding lives here.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { encodeStatusJson, type ImageStatusJson, isFinalStatus, watchStatus } from "@imgpipe/core"
import { Config, Deferred, Duration, Effect, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"
import { Api } from "../Api.js"
import { unavailableOnInfrastructureError } from "../errorMapping.js"
import { NotFound } from "../errors.js"
import { normalizeId } from "../schemas.js"

/** `IMGPIPE_SSE_HEARTBEAT`: how long an event stream may stay silent before a `: keepalive` comment. */
export const sseHeartbeatConfig: Config.Config<Duration.Duration> = Config.duration("IMGPIPE_SSE_HEARTBEAT").pipe(
  Config.withDefault(Duration.seconds(15)),
  Config.validate({
    message: "IMGPIPE_SSE_HEARTBEAT must be a duration of at least 10 millis, e.g. \"15 seconds\"",
    validation: (d) => Duration.greaterThanOrEqualTo(d, Duration.millis(10))
  })
)

/**
 * `retry:` sent first on every stream: how long EventSource waits before reconnecting after the
 * stream ended or broke (a stop, a deploy, a network blip). After a final status it reconnects
 * too, and gets 204 (see below), which makes it stop for good.
 */
export const SSE_RETRY_MILLIS = 2000

export const SSE_HEADERS = { "cache-control": "no-cache", "x-accel-buffering": "no" } as const

/**
 * An event's `id`: a tag of the state it carries (a digest of its JSON), so the same state has the
 * same id on any server and after any reconnect.
 */
export const eventIdOf = (data: string): string => createHash("sha256").update(data).digest("base64url").slice(0, 16)

/** One `status` event; `data` is the status JSON on one line (JSON never contains a raw newline). */
export const statusEvent = (status: ImageStatusJson): { readonly id: string; readonly text: string } => {
  const data = JSON.stringify(encodeStatusJson(status))
  const id = eventIdOf(data)
  return { id, text: `id: ${id}\nevent: status\ndata: ${data}\n\n` }
}

export const HEARTBEAT = ": keepalive\n\n"

export const EventsLive = HttpApiBuilder.group(Api, "events", (handlers) =>
  Effect.gen(function* () {
    const heartbeat = yield* sseHeartbeatConfig
    // Completed when the server stops (this group's layer closes before the HTTP server waits for
    // requests in flight): open streams end then instead of holding the stop for its whole grace.
    const stopping = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Deferred.succeed(stopping, undefined))

    return handlers.handle("imageEvents", ({ headers, path }) =>
      // The subscription lives in the request's scope: released when the stream ends or the
      // client goes away.
      watchStatus(normalizeId(path.image_id)).pipe(
        Effect.map(({ changes, current }) => {
          const first = statusEvent(current)
          // EventSource reconnects after every end; one that already has the final state is told
          // to stop (a 204 makes it give up for good).
          if (isFinalStatus(current.status) && headers["last-event-id"] === first.id) {
            return HttpServerResponse.empty({ status: 204, headers: { "cache-control": "no-cache" } })
          }
          const events = Stream.concat(
            Stream.succeed(`retry: ${SSE_RETRY_MILLIS}\n${first.text}`),
            Stream.map(changes, (status) => statusEvent(status).text)
          )
          const keepalive = Stream.fromSchedule(Schedule.spaced(heartbeat)).pipe(Stream.as(HEARTBEAT))
          const body = events.pipe(
            Stream.merge(keepalive, { haltStrategy: "left" }),
            Stream.interruptWhen(Deferred.await(stopping)),
            Stream.encodeText
          )
          return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: SSE_HEADERS })
        }),
        Effect.catchTags({ ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message })) }),
        unavailableOnInfrastructureError
      ))
  }))
