/**
 * A stop of the embedded runner finishes in bounded time, whatever is in flight.
 *
 * The first SIGINT/SIGTERM is `NodeRuntime.runMain`'s: it interrupts the program, which closes
 * every layer in reverse order — workers hand their jobs back, the server stops accepting and waits
 * for in-flight requests, the notifier tries its buffer once, the database closes. This module adds:
 * - `cutConnectionsAfterGrace`: requests still in flight `IMGPIPE_SHUTDOWN_GRACE_SECONDS` after the
 *   stop began (a stalled upload, a slow client) are cut (`server.closeAllConnections()`), so the
 *   server's close can complete;
 * - `guardSignals`: a hard deadline, grace + `HARD_STOP_SLACK`, after which the process exits with
 *   code 1 whatever is still closing; and a second SIGINT/SIGTERM during a stop exits at once
 *   (130 / 143, as a shell reports a process killed by that signal).
 */
import { shutdownGraceConfig } from "@imgpipe/core"
import { Duration, Effect } from "effect"
import type { Server } from "node:http"

/** What a stop may take beyond the grace: jobs handed back, the buffer tried, the database closed. */
export const HARD_STOP_SLACK = Duration.seconds(4)

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 }

/**
 * Installs the deadline and the second-signal exit for the life of the scope. Install it outermost,
 * so that it still holds while the database closes.
 */
export const guardSignals = (grace: Duration.Duration) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let stopping = false
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          process.stderr.write(`imgpipe: ${signal} again: exiting now, without waiting for the stop to finish\n`)
          process.exit(SIGNAL_EXIT_CODES[signal] ?? 1)
        }
        stopping = true
        const limit = Duration.sum(grace, HARD_STOP_SLACK)
        process.stderr.write(
          `imgpipe: stopping (up to ${Duration.format(limit)}; ${signal} again to exit at once)\n`
        )
        setTimeout(() => {
          process.stderr.write(`imgpipe: the stop did not finish within ${Duration.format(limit)}; exiting now\n`)
          process.exit(1)
        }, Duration.toMillis(limit)).unref()
      }
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
      return onSignal
    }),
    (onSignal) =>
      Effect.sync(() => {
        process.off("SIGINT", onSignal)
        process.off("SIGTERM", onSignal)
      })
  )

/**
 * When the scope closes (the stop begins, for a finalizer added right after the server is
 * listening), starts a timer that cuts every connection still open after the grace.
 */
export const cutConnectionsAfterGrace = (server: Server) =>
  Effect.gen(function* () {
    const grace = yield* shutdownGraceConfig
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        setTimeout(() => server.closeAllConnections(), Duration.toMillis(grace)).unref()
      }).pipe(
        Effect.zipRight(
          Effect.logInfo(`stopping: in-flight requests get ${Duration.format(grace)} before they are cut`)
        )
      )
    )
  })
