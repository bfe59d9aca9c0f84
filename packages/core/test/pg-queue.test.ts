import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import { newImageId } from "../src/domain/ids.js"
import type { ProcessJob } from "../src/domain/image.js"
import type { ImageSize } from "../src/domain/sizes.js"
import { LocalQueue, type ReceiveOptions } from "../src/local/LocalQueue.js"
import { LocalQueueLive } from "../src/local/PgQueue.js"
import { JobQueue } from "../src/services/JobQueue.js"
import { resetQueues, TestDatabase, testDatabaseKind } from "./support/database.js"

const TestLayer = LocalQueueLive.pipe(Layer.provideMerge(TestDatabase))

const job = (size: ImageSize) => Effect.map(newImageId, (id): ProcessJob => ({ image_id: id, raw_key: id, size }))

/** Short timeouts keep the suite fast; 3 receives as in the spec. */
const opts = (overrides: Partial<ReceiveOptions> = {}): ReceiveOptions => ({
  max: 10,
  visibilityTimeoutSeconds: 1,
  maxReceives: 3,
  ...overrides
})

/** A job received, not deleted and released right away: one failed attempt. */
const failOnce = (size: ImageSize, error: string) =>
  Effect.gen(function* () {
    const queue = yield* LocalQueue
    const [received] = yield* queue.receive(size, opts({ max: 1 }))
    if (received === undefined) return Option.none()
    yield* queue.changeVisibility(received.id, { delaySeconds: 0, error })
    return Option.some(received)
  })

// Live clock: visibility is measured by the database, so the tests sleep for real.
layer(TestLayer, { excludeTestServices: true })(`LocalQueue (PostgreSQL tables) on ${testDatabaseKind}`, (it) => {
  it.effect("send puts each job on its size's queue; receive returns it decoded, oldest first", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const small1 = yield* job("small")
      const small2 = yield* job("small")
      const large = yield* job("large")
      yield* queue.send([small1, large, small2])
      yield* queue.send([])

      const first = yield* queue.receive("small", opts({ max: 1 }))
      expect(first.map((r) => [r.size, r.body, r.receiveCount])).toEqual([["small", small1, 1]])
      const rest = yield* queue.receive("small", opts())
      expect(rest.map((r) => r.body)).toEqual([small2])
      expect(yield* queue.receive("medium", opts())).toEqual([])
      const larges = yield* queue.receive("large", opts())
      expect(larges.map((r) => r.body)).toEqual([large])

      expect(yield* queue.depth("small")).toEqual({ visible: 0, notVisible: 2, dead: 0 })
    }))

  it.effect("the core JobQueue sends into the same tables", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const jobs = yield* JobQueue
      const queue = yield* LocalQueue
      const medium = yield* job("medium")
      yield* jobs.send([medium])
      expect(yield* queue.depth("medium")).toEqual({ visible: 1, notVisible: 0, dead: 0 })
      const [received] = yield* queue.receive("medium", opts())
      expect(received?.body).toEqual(medium)
    }))

  it.effect("delete acknowledges a job for good; deleting twice is fine", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      yield* queue.send([yield* job("small")])
      const [received] = yield* queue.receive("small", opts({ visibilityTimeoutSeconds: 0 }))
      yield* queue.delete(received!.id)
      yield* queue.delete(received!.id)
      expect(yield* queue.receive("small", opts())).toEqual([])
      expect(yield* queue.depth("small")).toEqual({ visible: 0, notVisible: 0, dead: 0 })
    }))

  it.effect("visibility timeout: an un-acked job stays hidden, then comes back with receive count 2", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sent = yield* job("large")
      yield* queue.send([sent])
      const [first] = yield* queue.receive("large", opts({ visibilityTimeoutSeconds: 1 }))
      expect(first?.receiveCount).toBe(1)
      expect(yield* queue.receive("large", opts())).toEqual([])

      yield* Effect.sleep("1200 millis")
      const [second] = yield* queue.receive("large", opts({ visibilityTimeoutSeconds: 1 }))
      // The sender's trace context comes back with every delivery.
      expect(second).toEqual({
        id: first!.id,
        size: "large",
        body: sent,
        receiveCount: 2,
        traceparent: first!.traceparent
      })
    }))

  it.effect("changeVisibility: 0 makes a job visible now (with its error kept), a delay hides it", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sql = yield* SqlClient.SqlClient
      yield* queue.send([yield* job("small")])
      const [received] = yield* queue.receive("small", opts({ visibilityTimeoutSeconds: 30 }))
      yield* queue.changeVisibility(received!.id, { delaySeconds: 0, error: "storage timed out" })
      const [again] = yield* queue.receive("small", opts({ visibilityTimeoutSeconds: 30 }))
      expect(again?.id).toBe(received!.id)
      expect(again?.receiveCount).toBe(2)

      // Released without an error (a shutdown): the last error stays.
      yield* queue.changeVisibility(again!.id, { delaySeconds: 1 })
      expect(yield* queue.receive("small", opts())).toEqual([])
      const rows = yield* sql<{ last_error: string | null }>`SELECT last_error FROM jobs`
      expect(rows).toEqual([{ last_error: "storage timed out" }])
      yield* Effect.sleep("1200 millis")
      expect((yield* queue.receive("small", opts())).map((r) => r.id)).toEqual([received!.id])
    }))

  it.effect("after 3 receives the job moves to the dead-letter table with its history", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sent = yield* job("medium")
      yield* queue.send([sent])
      for (const attempt of [1, 2, 3]) {
        const received = yield* failOnce("medium", `attempt ${attempt} failed`)
        expect(Option.map(received, (r) => r.receiveCount)).toEqual(Option.some(attempt))
      }
      // The 4th delivery would exceed maxReceives: the job is dead-lettered instead.
      expect(yield* queue.receive("medium", opts())).toEqual([])
      expect(yield* queue.depth("medium")).toEqual({ visible: 0, notVisible: 0, dead: 1 })
      const dead = yield* queue.listDeadLetters("medium")
      expect(dead).toHaveLength(1)
      expect(dead[0]).toMatchObject({
        size: "medium",
        body: Option.some(sent),
        receiveCount: 3,
        lastError: "attempt 3 failed"
      })
      expect(dead[0]!.movedAt).toBeInstanceOf(Date)
      expect(yield* queue.listDeadLetters("small")).toEqual([])
      expect(yield* queue.listDeadLetters()).toEqual(dead)
    }))

  it.effect("redrive moves dead jobs back with a fresh receive count", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sent = yield* job("small")
      yield* queue.send([sent]).pipe(Effect.withSpan("sender"))
      for (let i = 0; i < 3; i++) yield* failOnce("small", "boom")
      expect(yield* queue.receive("small", opts())).toEqual([])
      const [dead] = yield* queue.listDeadLetters("small")

      expect(yield* queue.redrive("large")).toBe(0)
      expect(yield* queue.redrive("small")).toBe(1)
      expect(yield* queue.redrive("small")).toBe(0)
      expect(yield* queue.listDeadLetters()).toEqual([])
      const [again] = yield* queue.receive("small", opts())
      // The dead job kept its trace context through the dead-letter table.
      expect(again).toMatchObject({ id: dead!.id, size: "small", body: sent, receiveCount: 1 })
      expect(again?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    }))

  it.effect("a job carries the sender's span as traceparent; none with the tracer off", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const traced = yield* job("medium")
      const span = yield* queue.send([traced]).pipe(
        Effect.zipRight(Effect.currentSpan),
        Effect.withSpan("startProcessing.send")
      )
      const untraced = yield* job("medium")
      yield* queue.send([untraced]).pipe(Effect.withSpan("not exported"), Effect.withTracerEnabled(false))
      const received = yield* queue.receive("medium", opts())
      const byImage = new Map(received.map((r) => [r.body.image_id, r]))
      // The queue's own send span is the parent: same trace as the sender's span.
      expect(byImage.get(traced.image_id)?.traceparent).toMatch(
        new RegExp(`^00-${span.traceId}-[0-9a-f]{16}-01$`)
      )
      expect(byImage.get(untraced.image_id)?.traceparent).toBeUndefined()
    }))

  it.effect("concurrent receivers never get the same job (FOR UPDATE SKIP LOCKED)", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sent = yield* Effect.all(Array.from({ length: 40 }, () => job("small")))
      yield* queue.send(sent)
      const seen: Array<string> = []
      // Rounds of 6 receivers racing for 40 jobs, 5 at a time, until the queue is drained.
      for (let round = 0; round < 20 && seen.length < sent.length; round++) {
        const batches = yield* Effect.all(
          Array.from({ length: 6 }, () => queue.receive("small", opts({ max: 5, visibilityTimeoutSeconds: 60 }))),
          { concurrency: "unbounded" }
        )
        seen.push(...batches.flat().map((r) => r.id))
      }
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen).toHaveLength(sent.length)
    }))

  // Needs a second connection: PGlite has one, which a transaction holding row locks would keep.
  it.effect.skipIf(testDatabaseKind === "PGlite")(
    "a receiver skips rows another transaction has locked [PostgreSQL only: needs a second connection, PGlite has one; set TEST_DATABASE_URL]",
    () =>
      Effect.gen(function* () {
        yield* resetQueues
        const queue = yield* LocalQueue
        const sql = yield* SqlClient.SqlClient
        yield* queue.send([yield* job("large"), yield* job("large")])
        const ids = (yield* sql<{ id: string }>`SELECT id::text AS id FROM jobs ORDER BY id`).map((r) => r.id)
        const locked = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // Another connection takes a row lock on the oldest job and holds it...
        const holder = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT id FROM jobs WHERE id = ${ids[0]!}::bigint FOR UPDATE`
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })
          )
          .pipe(Effect.fork)
        yield* Deferred.await(locked)
        // ...and a receive meanwhile neither waits for it nor takes it.
        const received = yield* queue.receive("large", opts()).pipe(Effect.timeout("5 seconds"))
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        expect(received.map((r) => r.id)).toEqual([ids[1]])
      })
  )

  it.effect("a job whose body cannot be decoded goes straight to the dead-letter table", () =>
    Effect.gen(function* () {
      yield* resetQueues
      const queue = yield* LocalQueue
      const sql = yield* SqlClient.SqlClient
      const good = yield* job("small")
      yield* sql`INSERT INTO jobs (queue, body) VALUES ('small', ${JSON.stringify({ nope: true })}::jsonb)`
      yield* queue.send([good])
      const received = yield* queue.receive("small", opts())
      expect(received.map((r) => r.body)).toEqual([good])
      const dead = yield* queue.listDeadLetters("small")
      expect(dead).toHaveLength(1)
      expect(dead[0]).toMatchObject({ body: Option.none(), lastError: "malformed job body", receiveCount: 1 })
    }))

  it.effect("bad handles and arguments fail with QueueError", () =>
    Effect.gen(function* () {
      const queue = yield* LocalQueue
      const bad = yield* Effect.flip(queue.delete("not-an-id"))
      expect(bad).toMatchObject({ _tag: "QueueError", operation: "delete" })
      const negative = yield* Effect.flip(queue.changeVisibility("1", { delaySeconds: -1 }))
      expect(negative).toMatchObject({ _tag: "QueueError", operation: "changeVisibility" })
      const nan = yield* Effect.flip(queue.receive("small", opts({ visibilityTimeoutSeconds: Number.NaN })))
      expect(nan).toMatchObject({ _tag: "QueueError", operation: "receive" })
    }))
})
