/**
 * What every Lambda handler gets around it (`observed`): its metrics flushed as CloudWatch EMF
 * lines at the end of each invocation (`EmfMetrics`), its spans sent to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` before it returns when tracing is configured (a tracer per
 * invocation: a frozen container runs no export timer), and JSON log lines
 * (`IMGPIPE_LOG_FORMAT`, default `json`, for CloudWatch Logs Insights).
 */
import type { EffectHandler } from "@effect-aws/lambda"
import { EmfMetrics, makeEmfMetricsLayer, withEmfFlush } from "@imgpipe/core/observability/emf"
import { makeLogFormatLayer } from "@imgpipe/core/observability/logging"
import { withInvocationTracing } from "@imgpipe/core/observability/tracing"
import { ConfigError, Effect, Layer } from "effect"

/**
 * The layer beside a function's services: EMF metrics with dimension `function = functionName`
 * (written to stdout unless `write` is given) and the log format.
 */
export const functionObservabilityLayer = (
  functionName: string,
  write?: (line: string) => void
): Layer.Layer<EmfMetrics, ConfigError.ConfigError> =>
  Layer.merge(makeEmfMetricsLayer(functionName, write), makeLogFormatLayer("json"))

/**
 * `handler` traced as service `imgpipe-<functionName>` (when tracing is configured) with its
 * metrics flushed after each invocation, failed or not.
 */
export const observed = <T, R, E, A>(
  functionName: string,
  handler: EffectHandler<T, R, E, A>
): EffectHandler<T, R | EmfMetrics, E, A> => {
  const traced = withInvocationTracing(`imgpipe-${functionName}`)
  return (event, context) =>
    handler(event, context).pipe(
      traced,
      // Only a malformed OTEL_* setting fails here: the invocation fails with what is wrong.
      Effect.catchIf(
        (error): error is ConfigError.ConfigError => ConfigError.isConfigError(error),
        (error) => Effect.dieMessage(`tracing settings: ${String(error)}`)
      ),
      withEmfFlush
    ) as Effect.Effect<A, E, R | EmfMetrics>
}
