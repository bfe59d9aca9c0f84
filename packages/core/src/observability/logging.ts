/**
 * Log format per runtime: `IMGPIPE_LOG_FORMAT` = `json` (one JSON object per line, what CloudWatch
 * Logs Insights queries field by field: the default in Lambda and on ECS), `logfmt` (`key=value`
 * pairs) or `pretty` (`[time] LEVEL (fiber): message`, coloured on a terminal: the embedded
 * runner's default).
 * Together with `IMGPIPE_LOG_LEVEL` (`LogLevelLive`).
 */
import { Config, type ConfigError, Effect, FiberRef, HashSet, Layer, Logger } from "effect"

export const LOG_FORMATS = ["json", "logfmt", "pretty"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

const isLogFormat = (value: string): value is LogFormat => (LOG_FORMATS as ReadonlyArray<string>).includes(value)

/** `IMGPIPE_LOG_FORMAT`, with the runtime's default; any other value stops the start with a clear message. */
export const logFormatConfig = (fallback: LogFormat): Config.Config<LogFormat> =>
  Config.string("IMGPIPE_LOG_FORMAT").pipe(
    Config.validate({ message: "must be json, logfmt or pretty", validation: isLogFormat }),
    Config.withDefault(fallback)
  )

const loggerFor = (format: LogFormat): Logger.Logger<unknown, void> =>
  format === "json"
    ? Logger.withConsoleLog(Logger.jsonLogger)
    : format === "logfmt"
    ? Logger.withConsoleLog(Logger.logfmtLogger)
    : Logger.prettyLoggerDefault

/**
 * The logger layer for `format`: it takes the place of Effect's default logger and of the pretty
 * logger `NodeRuntime.runMain` installs, so each line is printed once, in one format.
 */
export const loggerLayer = (format: LogFormat): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
      loggers.pipe(
        HashSet.remove(Logger.defaultLogger as Logger.Logger<unknown, unknown>),
        HashSet.remove(Logger.prettyLoggerDefault as Logger.Logger<unknown, unknown>),
        HashSet.add(loggerFor(format) as Logger.Logger<unknown, unknown>)
      ))
  )

/**
 * Whether log lines are structured (JSON): then the request log adds its fields (method, route,
 * status, duration) as annotations, which CloudWatch Logs Insights filters on directly. Off for
 * the text formats, where each annotation costs CPU and prints as one more line.
 */
export const structuredLogs: FiberRef.FiberRef<boolean> = FiberRef.unsafeMake(false)

/** Replaces the default logger with `IMGPIPE_LOG_FORMAT`'s (default `fallback`). */
export const makeLogFormatLayer = (fallback: LogFormat): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      logFormatConfig(fallback),
      (format) => Layer.merge(loggerLayer(format), Layer.locallyScoped(structuredLogs, format === "json"))
    )
  )
