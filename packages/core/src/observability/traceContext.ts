/**
 * W3C trace context (`traceparent`) on the messages between imgpipe's steps, so one trace spans
 * upload → start → each size → webhook: the sender writes the current span's `traceparent` into
 * the message (an SQS message attribute, a job row's column), the receiver runs its work under it
 * (`withTraceparent`). With tracing off (`Effect.withTracerEnabled(false)`, or no span) nothing is
 * written and nothing is read: the helpers cost a fiber-ref lookup.
 *
 * Format: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` (https://www.w3.org/TR/trace-context/).
 */
import { Effect, Option, Tracer } from "effect"

/** The attribute / column name that carries the context. */
export const TRACEPARENT = "traceparent"

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const allZeros = /^0+$/

/** `traceparent` of a span, or none when its ids are not W3C ids (e.g. the no-op span of a disabled tracer). */
export const formatTraceparent = (
  span: { readonly traceId: string; readonly spanId: string; readonly sampled: boolean }
): Option.Option<string> =>
  /^[0-9a-f]{32}$/.test(span.traceId) && /^[0-9a-f]{16}$/.test(span.spanId) &&
    !allZeros.test(span.traceId) && !allZeros.test(span.spanId)
    ? Option.some(`00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`)
    : Option.none()

/** The span a `traceparent` names, as a parent for local spans; none when the value is malformed. */
export const parseTraceparent = (value: string | null | undefined): Option.Option<Tracer.ExternalSpan> => {
  if (value === null || value === undefined) return Option.none()
  const match = traceparentPattern.exec(value.trim().toLowerCase())
  if (match === null) return Option.none()
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  if (allZeros.test(traceId) || allZeros.test(spanId)) return Option.none()
  return Option.some(Tracer.externalSpan({ traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 }))
}

/** The current span's `traceparent` (to put on an outgoing message), or none outside a span / with tracing off. */
export const currentTraceparent: Effect.Effect<Option.Option<string>> = Effect.currentSpan.pipe(
  Effect.map(formatTraceparent),
  Effect.orElseSucceed(() => Option.none<string>())
)

/**
 * Runs `effect` with the span named by `traceparent` as its parent (spans it opens join that
 * trace); unchanged when the value is missing or malformed.
 */
export const withTraceparent =
  (traceparent: string | null | undefined) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Option.match(parseTraceparent(traceparent), {
      onNone: () => effect,
      onSome: (parent) => Effect.withParentSpan(effect, parent)
    })
