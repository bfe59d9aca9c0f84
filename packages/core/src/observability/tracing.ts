/**
 * OpenTelemetry traces over OTLP/HTTP (JSON) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, with the
 * light exporter of `@effect/opentelemetry` (`OtlpTracer`, on `fetch`; no OTel SDK). Unset, the
 * tracer is switched off (`Layer.setTracerEnabled(false)`): spans are not even created, so tracing
 * off costs nothing.
 *
 * Settings (the standard OTel names): `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL; spans go to
 * `<endpoint>/v1/traces`), or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL);
 * `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,key2=value2`, e.g. an API key; redacted, never logged);
 * `OTEL_SERVICE_NAME` overrides the runtime's service name (imgpipe-api, imgpipe-local,
 * imgpipe-<function>).
 */
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { FetchHttpClient } from "@effect/platform"
import { Config, type ConfigError, Duration, Effect, Layer, Option, Redacted } from "effect"

/** Where spans go, or none (tracing off). */
export interface TracingOptions {
  readonly url: string
  readonly serviceName: string
  readonly headers: Record<string, string>
}

const headersConfig = Config.redacted("OTEL_EXPORTER_OTLP_HEADERS").pipe(
  Config.map((value) =>
    Object.fromEntries(
      Redacted.value(value).split(",").map((pair) => pair.trim()).filter((pair) => pair.length > 0).map((pair) => {
        const at = pair.indexOf("=")
        return at < 0
          ? [pair, ""]
          : [decodeURIComponent(pair.slice(0, at).trim()), decodeURIComponent(pair.slice(at + 1).trim())]
      })
    )
  ),
  Config.withDefault({} as Record<string, string>)
)

const urlConfig = (name: string) =>
  Config.string(name).pipe(
    Config.validate({
      message: `${name} must be an http(s) URL, e.g. http://localhost:4318`,
      validation: (value) => /^https?:\/\/[^\s]+$/.test(value)
    }),
    Config.option
  )

/** The tracing settings for a runtime whose default service name is `serviceName`; none when tracing is off. */
export const tracingConfig = (serviceName: string): Config.Config<Option.Option<TracingOptions>> =>
  Config.all({
    endpoint: urlConfig("OTEL_EXPORTER_OTLP_ENDPOINT"),
    tracesEndpoint: urlConfig("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault(serviceName)),
    headers: headersConfig
  }).pipe(
    Config.map(({ endpoint, headers, serviceName, tracesEndpoint }) =>
      Option.orElse(tracesEndpoint, () => Option.map(endpoint, (base) => `${base.replace(/\/+$/, "")}/v1/traces`)).pipe(
        Option.map((url) => ({ url, serviceName, headers }))
      )
    )
  )

/** The OTLP/HTTP JSON tracer for `options`; spans are sent in batches and the rest when the layer closes. */
export const otlpTracerLayer = (options: TracingOptions, exportInterval: Duration.DurationInput = "5 seconds") =>
  OtlpTracer.layer({
    url: options.url,
    resource: { serviceName: options.serviceName },
    headers: options.headers,
    exportInterval,
    shutdownTimeout: Duration.seconds(3)
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))

/**
 * A long-running process's tracing (the ECS API, the embedded runner): the OTLP tracer when
 * configured, else the tracer switched off.
 */
export const makeTracingLayer = (serviceName: string): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(tracingConfig(serviceName), (options) =>
      Option.match(options, {
        onNone: () => Layer.setTracerEnabled(false),
        onSome: (options) =>
          Layer.merge(
            otlpTracerLayer(options),
            Layer.effectDiscard(Effect.logInfo(`tracing: spans go to ${options.url} as ${options.serviceName}`))
          )
      }))
  )

/**
 * A Lambda invocation's tracing: the tracer lives for the invocation only, so its spans are sent
 * before the handler returns (a frozen container runs no export timer). Tracing off: the tracer is
 * switched off for the invocation, nothing else.
 */
export const withInvocationTracing = (serviceName: string) => {
  const config = tracingConfig(serviceName)
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConfigError.ConfigError, R> =>
    Effect.flatMap(config, (options) =>
      Option.match(options, {
        onNone: () => Effect.withTracerEnabled(effect, false),
        onSome: (options) => Effect.provide(effect, otlpTracerLayer(options))
      }))
}
