/**
 * Log format per runtime: `IMGPIPE_LOG_FORMAT` = `json` (one JSON object per line, what CloudWatch
 * Logs Insights queries field by field: the default in Lambda and on ECS), `logfmt` (`key=value`
 * pairs: the embedded runner's default) or `pretty` (coloured, multi-line, for a terminal).
 * Together with `IMGPIPE_LOG_LEVEL` (`LogLevelLive`).
 */
import { Config, type ConfigError, Effect, Layer, Logger } from "effect"

export const LOG_FORMATS = ["json", "logfmt", "pretty"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

const isLogFormat = (value: string): value is LogFormat => (LOG_FORMATS as ReadonlyArray<string>).includes(value)

/** `IMGPIPE_LOG_FORMAT`, with the runtime's default; any other value stops the start with a clear message. */
export const logFormatConfig = (fallback: LogFormat): Config.Config<LogFormat> =>
  Config.string("IMGPIPE_LOG_FORMAT").pipe(
    Config.validate({ message: "must be json, logfmt or pretty", validation: isLogFormat }),
    Config.withDefault(fallback)
  )

/** The logger layer for `format`. */
export const loggerLayer = (format: LogFormat): Layer.Layer<never> =>
  format === "json" ? Logger.json : format === "logfmt" ? Logger.logFmt : Logger.pretty

/** Replaces the default logger with `IMGPIPE_LOG_FORMAT`'s (default `fallback`). */
export const makeLogFormatLayer = (fallback: LogFormat): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(logFormatConfig(fallback), loggerLayer))
