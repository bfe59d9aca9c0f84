/**
 * `start:aws-local`'s EventBridge schedule: the function gets a `Scheduled Event` every period,
 * the first one period after start, and a failing invocation does not stop the ticks.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { runSchedule } from "../src/local/schedule.js"
import type { ScheduledEvent } from "../src/reconcile.js"

it.live("invokes every period with a scheduled event and keeps going after a failure", () =>
  Effect.gen(function* () {
    const events: Array<ScheduledEvent> = []
    const fn = async (event: ScheduledEvent) => {
      events.push(event)
      if (events.length === 1) throw new Error("database unreachable")
      return { expired: 0 }
    }
    const started = Date.now()
    yield* Effect.scoped(
      Effect.gen(function* () {
        yield* runSchedule(fn, {
          functionName: "Reconcile",
          region: "eu-west-1",
          every: Duration.millis(100),
          timeoutMs: 1000
        })
        yield* Effect.sleep("50 millis")
        expect(events).toHaveLength(0)
        yield* Effect.sleep("400 millis")
      })
    )
    const count = events.length
    expect(count).toBeGreaterThanOrEqual(3)
    expect(events[0]).toMatchObject({
      "detail-type": "Scheduled Event",
      source: "aws.events",
      region: "eu-west-1",
      resources: ["arn:aws:events:eu-west-1:000000000000:rule/Reconcile"]
    })
    expect(Date.parse(events[0]!.time)).toBeGreaterThanOrEqual(started)
    // Stopped with its scope.
    yield* Effect.sleep("250 millis")
    expect(events).toHaveLength(count)
  }))
