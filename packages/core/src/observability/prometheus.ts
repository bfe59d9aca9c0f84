/**
 * Effect's metric registry (`Metric.snapshot`) as Prometheus text exposition format 0.0.4, for
 * `GET /metrics`. Only `imgpipe_*` metrics are rendered (Effect's own fiber counters are not ours
 * to publish). Counters → `counter`, gauges → `gauge`, histograms → `histogram` (cumulative
 * `_bucket{le}` series, `_sum`, `_count`); frequencies and summaries are not used by imgpipe.
 *
 * Written here rather than taken from a library: the format is a few lines per metric type, and
 * the candidates cost more than they save (prom-client would be a second registry beside Effect's;
 * @opentelemetry/exporter-prometheus needs the OTel metrics SDK and a bridge from Effect's
 * registry, a few hundred kB more in the ECS bundle and the Lambdas for the same text).
 */
import { Effect, Metric, MetricKeyType, type MetricPair, MetricState } from "effect"

/** The `Content-Type` of the answer. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const escapeLabel = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const sanitizeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const formatLabels = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0
    ? ""
    : `{${labels.map(([key, value]) => `${sanitizeName(key)}="${escapeLabel(value)}"`).join(",")}}`

type Kind = "counter" | "gauge" | "histogram"

interface Family {
  readonly kind: Kind
  readonly help: string | undefined
  /** One entry per series (label set), each its lines in order. */
  readonly series: Array<{ readonly labels: string; readonly lines: ReadonlyArray<string> }>
}

/** Renders metric pairs (from `Metric.snapshot`) whose names start with `prefix`. */
export const renderPrometheus = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  prefix = "imgpipe_"
): string => {
  const families = new Map<string, Family>()
  const familyOf = (name: string, kind: Kind, help: string | undefined) => {
    const existing = families.get(name)
    if (existing !== undefined) return existing
    const created: Family = { kind, help, series: [] }
    families.set(name, created)
    return created
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    if (!key.name.startsWith(prefix)) continue
    const name = sanitizeName(key.name)
    const help = key.description._tag === "Some" ? key.description.value : undefined
    const labels = key.tags.map((tag) => [tag.key, tag.value] as const)
    const state = pair.metricState
    if (MetricKeyType.isCounterKey(key.keyType) && MetricState.isCounterState(state)) {
      const text = formatLabels(labels)
      familyOf(name, "counter", help).series.push({
        labels: text,
        lines: [`${name}${text} ${formatValue(state.count)}`]
      })
    } else if (MetricKeyType.isGaugeKey(key.keyType) && MetricState.isGaugeState(state)) {
      const text = formatLabels(labels)
      familyOf(name, "gauge", help).series.push({ labels: text, lines: [`${name}${text} ${formatValue(state.value)}`] })
    } else if (MetricKeyType.isHistogramKey(key.keyType) && MetricState.isHistogramState(state)) {
      const lines: Array<string> = []
      // Effect's buckets are already cumulative and end with +Inf.
      for (const [bound, count] of state.buckets) {
        lines.push(`${name}_bucket${formatLabels([...labels, ["le", formatValue(bound)]])} ${count}`)
      }
      if (!state.buckets.some(([bound]) => bound === Number.POSITIVE_INFINITY)) {
        lines.push(`${name}_bucket${formatLabels([...labels, ["le", "+Inf"]])} ${state.count}`)
      }
      lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(state.sum)}`)
      lines.push(`${name}_count${formatLabels(labels)} ${state.count}`)
      familyOf(name, "histogram", help).series.push({ labels: formatLabels(labels), lines })
    }
  }
  const out: Array<string> = []
  for (const [name, family] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    if (family.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${name} ${family.kind}`)
    for (const series of family.series.sort((a, b) => a.labels.localeCompare(b.labels))) out.push(...series.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** The registry's `imgpipe_*` metrics now, as Prometheus text. */
export const prometheusText: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => renderPrometheus(pairs))
