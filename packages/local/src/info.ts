/**
 * `GET /local/info`: what the upload page shows beside the form — the server's limits (from the
 * same `Settings` that `POST /upload` enforces) and the embedded queues' backlog (jobs not yet done
 * per size queue, and dead-lettered jobs). Read-only and open like `/health`: the limits are what
 * `/upload` would answer anyway, and the backlog is a handful of counts. Embedded runner only: the
 * AWS runtimes have no job tables (their queue depths are CloudWatch metrics).
 */
import { HttpServerResponse } from "@effect/platform"
import { ACCEPTED_CONTENT_TYPES, IMAGE_SIZES, INPUT_FORMATS, Settings } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { Effect, Schema } from "effect"

const Count = Schema.NonNegativeInt
const Box = Schema.Struct({ width: Count, height: Count })

/** The answer of `GET /local/info`. */
export const LocalInfo = Schema.Struct({
  limits: Schema.Struct({
    max_upload_bytes: Count,
    max_pixels: Count,
    /** Declared content types `POST /upload` accepts. */
    accepted_types: Schema.Array(Schema.String),
    /** The formats behind them (checked again from the real bytes). */
    formats: Schema.Array(Schema.String)
  }),
  /** The box each size fits inside, smallest first. */
  sizes: Schema.Array(Schema.Struct({ size: Schema.String, box: Box })),
  /** Whether `/upload` and `/images/*` want `Authorization: Bearer <key>`. */
  api_key_required: Schema.Boolean,
  backlog: Schema.Struct({
    /** Jobs not yet done, all queues: waiting or being processed. */
    queued: Count,
    by_size: Schema.Record({ key: Schema.String, value: Count }),
    /** Jobs that used up their receives (the dead-letter table). */
    dead: Count
  })
})
export type LocalInfo = typeof LocalInfo.Type

const noStore = { headers: { "cache-control": "no-store" } }

const info = Effect.gen(function* () {
  const settings = yield* Settings
  const queue = yield* LocalQueue
  const depths = yield* Effect.forEach(
    IMAGE_SIZES,
    (size) => Effect.map(queue.depth(size), (depth) => [size, depth] as const)
  )
  const bySize: Record<string, number> = {}
  let dead = 0
  for (const [size, depth] of depths) {
    bySize[size] = depth.visible + depth.notVisible
    dead += depth.dead
  }
  const answer: LocalInfo = {
    limits: {
      max_upload_bytes: settings.maxUploadBytes,
      max_pixels: settings.maxPixels,
      accepted_types: Object.keys(ACCEPTED_CONTENT_TYPES),
      formats: [...INPUT_FORMATS]
    },
    sizes: settings.sizeOrder.map((size) => ({ size, box: settings.sizes[size] })),
    api_key_required: settings.apiKeys.length > 0,
    backlog: { queued: Object.values(bySize).reduce((a, b) => a + b, 0), by_size: bySize, dead }
  }
  return yield* HttpServerResponse.schemaJson(LocalInfo)(answer, noStore)
}).pipe(
  Effect.catchTag(
    "QueueError",
    (error) =>
      Effect.logWarning("GET /local/info: the queue backlog could not be read", error).pipe(
        Effect.zipRight(
          HttpServerResponse.json(
            { error: "unavailable", message: `the queue backlog could not be read: ${error.message}` },
            { status: 503, ...noStore }
          )
        )
      )
  ),
  // What is left is an answer that does not match its own schema: a bug, not a condition.
  Effect.orDie
)

/** The route's handler with its services taken from the layer that mounts it. */
export const makeLocalInfoRoute = Effect.map(
  Effect.context<Settings | LocalQueue>(),
  (context) => Effect.provide(info, context)
)
