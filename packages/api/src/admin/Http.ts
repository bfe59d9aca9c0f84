/**
 * Handlers of the `admin` group: parse → core use case (`@imgpipe/core/usecases/admin`) → map the
 * result and the errors. Who may call them is `AdminAuthorization`, a layer each runtime picks.
 */
import { HttpApiBuilder } from "@effect/platform"
import { type ImageView, type JobQueue, toStatusJson } from "@imgpipe/core"
import type { AdminRepository } from "@imgpipe/core/services/AdminRepository"
import type { QueueAdmin, QueueStats, RedriveResult } from "@imgpipe/core/services/QueueAdmin"
import { listImages, queueStats, redriveDeadLetters, reprocessImage } from "@imgpipe/core/usecases/admin"
import { Effect } from "effect"
import { Api } from "../Api.js"
import { unavailableOnInfrastructureError } from "../errorMapping.js"
import { BadRequest, Conflict, NotFound } from "../errors.js"
import { normalizeId } from "../schemas.js"
import type { AdminAuthorization, QueueStatsBody, RedriveBody } from "./Api.js"

const toQueueStatsBody = (stats: QueueStats): typeof QueueStatsBody.Type => ({
  name: stats.name,
  dead_letter: stats.deadLetter,
  depth: stats.depth,
  in_flight: stats.inFlight,
  oldest_age_seconds: stats.oldestAgeSeconds
})

const toRedriveBody = (results: ReadonlyArray<RedriveResult>): typeof RedriveBody.Type => ({
  redrives: results.map((result) => ({
    queue: result.queue,
    messages: result.messages,
    task_handle: result.taskHandle
  }))
})

const statusJsonOf = (view: ImageView) => toStatusJson(view)

export const AdminLive = HttpApiBuilder.group(Api, "admin", (handlers) =>
  handlers
    .handle("listImages", ({ urlParams }) =>
      listImages({
        status: urlParams.status,
        olderThanSeconds: urlParams.older_than_seconds,
        limit: urlParams.limit,
        cursor: urlParams.cursor
      }).pipe(
        Effect.map((page) => ({ images: page.images.map(statusJsonOf), next_cursor: page.nextCursor })),
        Effect.catchTags({ InvalidCursor: (e) => Effect.fail(new BadRequest({ message: e.message })) }),
        unavailableOnInfrastructureError
      ))
    .handle("reprocess", ({ path, payload }) =>
      reprocessImage(normalizeId(path.image_id), payload.sizes).pipe(
        Effect.map(statusJsonOf),
        Effect.catchTags({
          ImageNotFound: (e) => Effect.fail(new NotFound({ message: e.message })),
          ReprocessRefused: (e) => Effect.fail(new Conflict({ message: e.message }))
        }),
        unavailableOnInfrastructureError
      ))
    .handle("queues", () =>
      queueStats.pipe(
        Effect.map((queues) => ({ queues: queues.map(toQueueStatsBody) })),
        unavailableOnInfrastructureError
      ))
    .handle("redrive", () => redriveDeadLetters.pipe(Effect.map(toRedriveBody), unavailableOnInfrastructureError)))

/**
 * What the admin group needs from the runtime: the admin use cases' services and the admin policy
 * (`AdminAuthorizationKeys` or, on the embedded runner bound to loopback, `AdminAuthorizationOpen`).
 */
export type AdminServices = AdminRepository | QueueAdmin | JobQueue | AdminAuthorization
