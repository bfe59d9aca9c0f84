/**
 * What the embedded runner says when it starts, and how it says why it could not.
 *
 * - Where it listens (the upload page, `/docs`) and the backlog left by a previous run are printed
 *   with `Console`, not logged: a newcomer sees them at any `IMGPIPE_LOG_LEVEL`, WARN included.
 * - A start that fails for a reason the user can fix (busy port, data directory held by another
 *   process, a bad setting) is ONE line naming the fix, with no stack trace; anything else is logged
 *   in full. Either way the exit code is 1.
 */
import { HttpServer, HttpServerError } from "@effect/platform"
import { dataDirConfig, DEFAULT_DATA_DIR, DEFAULT_PORT, IMAGE_SIZES, portConfig } from "@imgpipe/core"
import { LocalQueue } from "@imgpipe/core/local/LocalQueue"
import { DataDirInUse } from "@imgpipe/core/sql/embedded"
import { Cause, Config, ConfigError, Console, Effect, Layer, Option } from "effect"

/** `HOST`: the address to bind. Loopback by default: the embedded API is open unless keys are set. */
export const hostConfig = Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))

const LOOPBACK_OR_ANY = new Set(["127.0.0.1", "::1", "0.0.0.0", "::", "localhost"])

const urlHost = (hostname: string): string =>
  LOOPBACK_OR_ANY.has(hostname) ? "localhost" : hostname.includes(":") ? `[${hostname}]` : hostname

/** Prints where the server listens, once it does. */
export const AnnounceLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const address = server.address
    if (address._tag !== "TcpAddress") return
    const base = `http://${urlHost(address.hostname)}:${address.port}`
    const api = address.port === 3000 ? "" : ` --api ${base}`
    const lines = [
      `imgpipe is running on ${base}`,
      `  upload page: ${base}/`,
      `  API docs:    ${base}/docs`,
      `  CLI:         bun run imgpipe -- upload <files…> --wait${api}   (also: status, get, images, queues)`,
      `  metrics:     ${base}/metrics`
    ]
    if (address.hostname === "0.0.0.0") {
      lines.push(
        "  listening on every network interface (HOST=0.0.0.0): set IMGPIPE_API_KEYS to keep the API to yourself"
      )
    }
    yield* Console.log(lines.join("\n"))
  })
)

/** Jobs waiting in (or held from) the queue tables. */
const queuedJobs = Effect.gen(function* () {
  const queue = yield* LocalQueue
  const depths = yield* Effect.forEach(IMAGE_SIZES, (size) => queue.depth(size))
  return depths.reduce((sum, depth) => sum + depth.visible + depth.notVisible, 0)
})

/** Prints the backlog a previous run left, when there is one (run before the workers start). */
export const announceBacklog = queuedJobs.pipe(
  Effect.flatMap((
    n
  ) => (n > 0
    ? Console.log(`${n} job${n === 1 ? "" : "s"} queued from a previous run; processing resumes`)
    : Effect.void)
  ),
  Effect.catchAll(() => Effect.void)
)

const errnoOf = (error: HttpServerError.ServeError): string | undefined => {
  const cause = error.cause
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined
}

/** The one line for a start failure the user can fix, if this is one. */
const describe = (error: unknown): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function* () {
    if (error instanceof DataDirInUse) {
      const dir = yield* dataDirConfig.pipe(Effect.orElseSucceed(() => DEFAULT_DATA_DIR))
      return Option.some(
        `the data directory ${dir} is in use by process ${error.pid}: stop it, or set IMGPIPE_DATA_DIR to another directory`
      )
    }
    if (error instanceof HttpServerError.ServeError) {
      const port = yield* portConfig.pipe(Effect.orElseSucceed(() => DEFAULT_PORT))
      const host = yield* hostConfig.pipe(Effect.orElseSucceed(() => "127.0.0.1"))
      switch (errnoOf(error)) {
        case "EADDRINUSE":
          return Option.some(`port ${port} is in use: set PORT=<another port> or stop the other process`)
        case "EACCES":
          return Option.some(`port ${port} needs privileges this process does not have: set PORT=<a port above 1023>`)
        case "EADDRNOTAVAIL":
        case "ENOTFOUND":
          return Option.some(
            `HOST=${host} is not an address of this machine: set HOST=127.0.0.1 (or 0.0.0.0 for every interface)`
          )
      }
    }
    if (ConfigError.isConfigError(error)) return Option.some(`a setting is wrong: ${String(error)}`)
    return Option.none()
  })

/** Reports a failed run: one line for what the user can fix, the full cause for anything else. */
export const reportFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapErrorCause(self, (cause) =>
    Effect.gen(function* () {
      if (Cause.isInterruptedOnly(cause)) return
      const first = Cause.failureOption(cause)
      const line = Option.isSome(first) ? yield* describe(first.value) : Option.none<string>()
      if (Option.isSome(line)) yield* Console.error(`imgpipe: ${line.value}`)
      else yield* Effect.logError("imgpipe stopped on an error", cause)
    }))
