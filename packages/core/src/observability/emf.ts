/**
 * imgpipe's metrics in Lambda: CloudWatch Embedded Metric Format (EMF) lines on stdout, which
 * CloudWatch Logs turns into metrics in the namespace `imgpipe` without an API call
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 *
 * Each invocation ends with one flush (`EmfMetrics.flush`): what the counters and histograms of
 * Effect's registry gained since the last flush of this container, one JSON line per label set,
 * with dimensions `function` plus the metric's own labels (size, outcome: a handful of values, so
 * few CloudWatch metrics). Nothing is written when nothing changed. Gauges are not sent (the queue
 * gauges are SQS's own CloudWatch metrics in AWS).
 *
 * A histogram's new observations are sent as values (EMF takes up to 100 per metric): each is the
 * upper bound of its bucket (factor 2 apart, the +Inf bucket as the largest value seen), so
 * CloudWatch percentiles are accurate to the bucket. A small formatter rather than
 * aws-embedded-metrics: that library keeps its own metric context per invocation and would need
 * every recording site to know about it, where this reads the same registry `GET /metrics` serves.
 */
import { Clock, Context, Effect, Layer, Metric, MetricKeyType, type MetricPair, MetricState, Ref } from "effect"

export const EMF_NAMESPACE = "imgpipe"

/** EMF allows at most 100 values per metric per line. */
const MAX_VALUES = 100

/** What the previous flush saw, per series: counter totals and histogram bucket counts. */
export type EmfBaseline = ReadonlyMap<string, ReadonlyArray<number>>

interface Pending {
  readonly dimensions: Record<string, string>
  readonly metrics: Array<{ readonly name: string; readonly unit: string; readonly value: number | Array<number> }>
}

const unitOf = (name: string) => name.endsWith("_seconds") ? "Seconds" : "Count"

/**
 * The EMF lines for what changed between `baseline` and `pairs` (a `Metric.snapshot`), and the
 * new baseline. Pure; `timestamp` in epoch milliseconds.
 */
export const emfLines = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  baseline: EmfBaseline,
  options: { readonly functionName: string; readonly timestamp: number; readonly prefix?: string }
): { readonly lines: ReadonlyArray<string>; readonly baseline: EmfBaseline } => {
  const prefix = options.prefix ?? "imgpipe_"
  const next = new Map(baseline)
  const groups = new Map<string, Pending>()
  const add = (tags: ReadonlyArray<readonly [string, string]>, name: string, value: number | Array<number>) => {
    const dimensions: Record<string, string> = { function: options.functionName }
    for (const [key, tagValue] of tags) dimensions[key] = tagValue
    const groupKey = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)))
    const group = groups.get(groupKey) ?? { dimensions, metrics: [] }
    groups.set(groupKey, group)
    group.metrics.push({ name, unit: unitOf(name), value })
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    if (!key.name.startsWith(prefix)) continue
    const tags = key.tags.map((tag) => [tag.key, tag.value] as const)
    const seriesKey = `${key.name}${JSON.stringify(tags)}`
    const before = baseline.get(seriesKey) ?? []
    const state = pair.metricState
    if (MetricKeyType.isCounterKey(key.keyType) && MetricState.isCounterState(state)) {
      const total = Number(state.count)
      const delta = total - (before[0] ?? 0)
      next.set(seriesKey, [total])
      if (delta > 0) add(tags, key.name, delta)
    } else if (MetricKeyType.isHistogramKey(key.keyType) && MetricState.isHistogramState(state)) {
      const counts = state.buckets.map(([, count]) => count)
      next.set(seriesKey, counts)
      const values: Array<number> = []
      let previousCumulative = 0
      let previousBefore = 0
      state.buckets.forEach(([bound, cumulative], index) => {
        const beforeCumulative = before[index] ?? 0
        const fresh = (cumulative - previousCumulative) - (beforeCumulative - previousBefore)
        previousCumulative = cumulative
        previousBefore = beforeCumulative
        const value = Number.isFinite(bound) ? bound : state.max
        for (let i = 0; i < fresh && values.length < MAX_VALUES; i++) values.push(value)
      })
      if (values.length > 0) add(tags, key.name, values)
    }
  }
  const lines = [...groups.values()].map((group) =>
    JSON.stringify({
      _aws: {
        Timestamp: options.timestamp,
        CloudWatchMetrics: [{
          Namespace: EMF_NAMESPACE,
          Dimensions: [Object.keys(group.dimensions)],
          Metrics: group.metrics.map((metric) => ({ Name: metric.name, Unit: metric.unit }))
        }]
      },
      ...group.dimensions,
      ...Object.fromEntries(group.metrics.map((metric) => [metric.name, metric.value]))
    })
  )
  return { lines, baseline: next }
}

/** Writes what the metrics gained since the last flush as EMF lines (once per invocation). */
export class EmfMetrics extends Context.Tag("imgpipe/observability/EmfMetrics")<
  EmfMetrics,
  { readonly flush: Effect.Effect<void> }
>() {}

/**
 * `EmfMetrics` for one Lambda function (`functionName`: the dimension, e.g. `process-image`),
 * writing each line with `write` (default: straight to stdout, bypassing the runtime's console
 * wrapper, which would prefix or wrap the JSON and hide it from CloudWatch's EMF parser).
 */
export const makeEmfMetricsLayer = (
  functionName: string,
  write: (line: string) => void = (line) => {
    process.stdout.write(`${line}\n`)
  }
): Layer.Layer<EmfMetrics> =>
  Layer.effect(
    EmfMetrics,
    Effect.gen(function* () {
      // Metrics recorded before this container's first invocation (none in practice) count from here.
      const baseline = yield* Ref.make<EmfBaseline>(new Map())
      return {
        flush: Effect.gen(function* () {
          const pairs = yield* Metric.snapshot
          const timestamp = yield* Clock.currentTimeMillis
          const lines = yield* Ref.modify(baseline, (previous) => {
            const result = emfLines(pairs, previous, { functionName, timestamp })
            return [result.lines, result.baseline] as const
          })
          for (const line of lines) write(line)
        })
      }
    })
  )

/** Runs a handler's effect, then flushes the metrics it recorded (also when it fails). */
export const withEmfFlush = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | EmfMetrics> =>
  Effect.ensuring(effect, Effect.flatMap(EmfMetrics, (metrics) => metrics.flush))
