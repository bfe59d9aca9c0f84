/**
 * Every metric imgpipe records, in Effect's metric registry (`Metric`), named `imgpipe_*`. The
 * API and the embedded runner serve them as Prometheus text at `GET /metrics` (`prometheus.ts`);
 * the Lambda handlers write them as CloudWatch Embedded Metric Format lines (`emf.ts`).
 *
 * Record through the small functions below rather than the metrics themselves: they keep the
 * labels (and so the cardinality) to the few values listed here. Labels never carry an image id
 * or a URL: only a route pattern, a method, a status code, a size, a queue name, an outcome.
 */
import { Duration, Effect, Metric, MetricBoundaries, MetricLabel } from "effect"

/**
 * `metric` with the given labels. Tagged metrics are cached by name and labels: building one
 * (a new key, its hash, the registry lookup) costs tens of microseconds, too much for every request.
 * The cache is as small as the label sets, which these recorders keep few.
 */
const tagged = new Map<string, Metric.Metric<unknown, unknown, unknown>>()
const withTags = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  name: string,
  tags: Record<string, string>
): Metric.Metric<Type, In, Out> => {
  let key = name
  for (const label in tags) key += `\u0000${label}\u0000${tags[label]}`
  const cached = tagged.get(key)
  if (cached !== undefined) return cached as Metric.Metric<Type, In, Out>
  const made = Metric.taggedWithLabels(
    metric,
    Object.entries(tags).map(([label, value]) => MetricLabel.make(label, value))
  )
  tagged.set(key, made as Metric.Metric<unknown, unknown, unknown>)
  return made
}

// ---- HTTP ---------------------------------------------------------------------------------------

/** Latency buckets for HTTP answers: 1 ms … ~16 s. */
const httpBoundaries = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 15 })

/** `imgpipe_http_requests_total{route,method,status}`: answers sent. */
export const httpRequestsTotal = Metric.counter("imgpipe_http_requests_total", {
  description: "HTTP requests answered, by route pattern, method and status code.",
  incremental: true
})

/** `imgpipe_http_request_duration_seconds{route,method,status}`: time from request to answer. */
export const httpRequestDuration = Metric.histogram(
  "imgpipe_http_request_duration_seconds",
  httpBoundaries,
  "Time to answer an HTTP request, by route pattern, method and status code."
)

/** Counts one answered request and its latency. `route` is the route pattern (`/images/:image_id`), never the URL. */
export const recordHttpRequest = (request: {
  readonly route: string
  readonly method: string
  readonly status: number
  readonly seconds: number
}): Effect.Effect<void> => {
  const tags = { route: request.route, method: request.method, status: String(request.status) }
  return Effect.zipRight(
    Metric.increment(withTags(httpRequestsTotal, "httpRequestsTotal", tags)),
    Metric.update(withTags(httpRequestDuration, "httpRequestDuration", tags), request.seconds)
  )
}

// ---- uploads ------------------------------------------------------------------------------------

/** What became of an upload notification (StartProcessing's outcomes). */
export type UploadOutcome = "started" | "already_handled" | "ignored"

/** `imgpipe_uploads_total{outcome}`: uploads whose bytes arrived (one per ObjectCreated). */
export const uploadsTotal = Metric.counter("imgpipe_uploads_total", {
  description: "Uploads received (object-created notifications), by outcome: started, already_handled, ignored.",
  incremental: true
})

/** Counts `count` uploads with `outcome`. */
export const recordUploads = (outcome: UploadOutcome, count = 1): Effect.Effect<void> =>
  count <= 0 ? Effect.void : Metric.incrementBy(withTags(uploadsTotal, "uploadsTotal", { outcome }), count)

// ---- renditions ---------------------------------------------------------------------------------

/**
 * What became of one resize job: `processed` (rendition written), `copied` (rendition copied from
 * an earlier upload of the same bytes, no resize), `already_done` (duplicate message), `rejected`
 * (content refused for good), `skipped` (no such image), `retry` (transient failure, the queue
 * delivers it again), `failed` (a defect or an unexpected error).
 */
export type RenditionOutcome =
  | "processed"
  | "copied"
  | "already_done"
  | "rejected"
  | "skipped"
  | "retry"
  | "failed"

/** `imgpipe_renditions_total{size,outcome}`: resize jobs finished. */
export const renditionsTotal = Metric.counter("imgpipe_renditions_total", {
  description: "Resize jobs handled, by size and outcome.",
  incremental: true
})

/** Resize buckets: 10 ms … ~82 s. */
const resizeBoundaries = MetricBoundaries.exponential({ start: 0.01, factor: 2, count: 14 })

/**
 * `imgpipe_resize_duration_seconds{size}`: one job that made a rendition, end to end (read the
 * original, check it, resize, write, record), as timed around `processImage`.
 */
export const resizeDuration = Metric.histogram(
  "imgpipe_resize_duration_seconds",
  resizeBoundaries,
  "Time to make one rendition (read, resize, write, record), by size; only jobs that made one."
)

/** Counts one resize job; its duration goes into the histogram when it made a rendition. */
export const recordRendition = (job: {
  readonly size: string
  readonly outcome: RenditionOutcome
  readonly seconds: number
}): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.increment(withTags(renditionsTotal, "renditionsTotal", { size: job.size, outcome: job.outcome })),
    job.outcome === "processed"
      ? Metric.update(withTags(resizeDuration, "resizeDuration", { size: job.size }), job.seconds)
      : Effect.void
  )

/** Runs `effect` (one job) and returns its result with its wall time in seconds. */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<[A, number], E, R> =>
  Effect.map(Effect.timed(effect), ([duration, value]) => [value, Duration.toMillis(duration) / 1000])

// ---- queues (gauges, set at scrape time) --------------------------------------------------------

/** `imgpipe_queue_depth{queue}`: messages waiting (visible) per queue. */
export const queueDepth = Metric.gauge("imgpipe_queue_depth", {
  description: "Messages waiting in a queue (visible), by queue."
})

/** `imgpipe_queue_in_flight{queue}`: messages received and not yet deleted. */
export const queueInFlight = Metric.gauge("imgpipe_queue_in_flight", {
  description: "Messages being processed (received, not yet deleted), by queue."
})

/** `imgpipe_queue_oldest_age_seconds{queue}`: age of the oldest waiting message (0 when empty). */
export const queueOldestAge = Metric.gauge("imgpipe_queue_oldest_age_seconds", {
  description: "Age of the oldest message in a queue, in seconds (0 when empty), by queue."
})

/** `imgpipe_dead_letter_depth{queue}`: messages in the dead-letter queue. */
export const deadLetterDepth = Metric.gauge("imgpipe_dead_letter_depth", {
  description: "Messages in a dead-letter queue, by queue."
})

/** One queue's numbers as a scrape reads them. */
export interface QueueReading {
  readonly queue: string
  readonly depth: number
  readonly inFlight?: number | undefined
  readonly oldestAgeSeconds?: number | undefined
  /** True for a dead-letter queue: its depth goes to `imgpipe_dead_letter_depth`. */
  readonly deadLetter?: boolean | undefined
}

/** Sets the queue gauges from one reading per queue (called just before a scrape renders). */
export const recordQueues = (readings: ReadonlyArray<QueueReading>): Effect.Effect<void> =>
  Effect.forEach(readings, (reading) => {
    const tags = { queue: reading.queue }
    if (reading.deadLetter === true) {
      return Metric.set(withTags(deadLetterDepth, "deadLetterDepth", tags), reading.depth)
    }
    return Effect.all([
      Metric.set(withTags(queueDepth, "queueDepth", tags), reading.depth),
      Metric.set(withTags(queueInFlight, "queueInFlight", tags), reading.inFlight ?? 0),
      Metric.set(withTags(queueOldestAge, "queueOldestAge", tags), reading.oldestAgeSeconds ?? 0)
    ], { discard: true })
  }, { discard: true })

// ---- webhooks -----------------------------------------------------------------------------------

/**
 * What became of one webhook delivery attempt: `delivered` (2xx), `retry` (will be tried again),
 * `failed` (gave up: 24 hours passed), `refused` (the SSRF guard refused the destination).
 */
export type WebhookOutcome = "delivered" | "retry" | "failed" | "refused"

/** `imgpipe_webhook_deliveries_total{outcome}`: webhook delivery attempts. */
export const webhookDeliveriesTotal = Metric.counter("imgpipe_webhook_deliveries_total", {
  description: "Webhook delivery attempts, by outcome: delivered, retry, failed, refused.",
  incremental: true
})

/** Counts one webhook delivery attempt. */
export const recordWebhookDelivery = (outcome: WebhookOutcome): Effect.Effect<void> =>
  Metric.increment(withTags(webhookDeliveriesTotal, "webhookDeliveriesTotal", { outcome }))
