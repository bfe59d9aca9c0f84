/**
 * Settings of the processes themselves (where they listen, what they log, where the embedded mode
 * keeps its data), read the same way by every runtime.
 */
import { Config, Effect, Layer, Logger, LogLevel } from "effect"
import { positiveIntegerConfig, secondsConfig } from "./integers.js"

/** `PORT`'s default. */
export const DEFAULT_PORT = 3000

/** `PORT`: the HTTP API's port (ECS, the embedded runner, `start:aws-local`). */
export const portConfig: Config.Config<number> = Config.integer("PORT").pipe(Config.withDefault(DEFAULT_PORT))

/** `IMGPIPE_LOG_LEVEL`: DEBUG, INFO (default), WARN or ERROR. */
export const logLevelConfig: Config.Config<LogLevel.LogLevel> = Config.logLevel("IMGPIPE_LOG_LEVEL").pipe(
  Config.withDefault(LogLevel.Info)
)

/** Applies `IMGPIPE_LOG_LEVEL` to everything the layer is provided to: the one way every runtime does it. */
export const LogLevelLive: Layer.Layer<never, import("effect/ConfigError").ConfigError> = Layer.unwrapEffect(
  Effect.map(logLevelConfig, Logger.minimumLogLevel)
)

/** `IMGPIPE_DATA_DIR`'s default, relative to the working directory. */
export const DEFAULT_DATA_DIR = "./.imgpipe"

/** `IMGPIPE_DATA_DIR`: where the embedded mode keeps its database and objects. */
export const dataDirConfig: Config.Config<string> = Config.string("IMGPIPE_DATA_DIR").pipe(
  Config.withDefault(DEFAULT_DATA_DIR)
)

/**
 * `IMGPIPE_SHUTDOWN_GRACE_SECONDS`: how long in-flight requests may finish after SIGTERM/SIGINT
 * before they are cut (the ECS API and the embedded runner alike; inside ECS's 30 s stop timeout).
 */
export const shutdownGraceConfig = secondsConfig("IMGPIPE_SHUTDOWN_GRACE_SECONDS", { fallback: 20, min: 0 })

/**
 * `IMGPIPE_DB_POOL_SIZE`: connections per process to a PostgreSQL server. Each runtime has its
 * own default (ECS API 10, a Lambda container 2, the embedded runner with `DATABASE_URL` 10).
 */
export const dbPoolSizeConfig = (fallback: number): Config.Config<number> =>
  positiveIntegerConfig("IMGPIPE_DB_POOL_SIZE", fallback)
