/**
 * The change feed on the database (PGlite, or PostgreSQL with TEST_DATABASE_URL): what the
 * repository writes reaches the subscribers of that image, in order; however many subscribers,
 * one poll query per tick; a write whose `updated_at` looks old is still found at a full tick;
 * subscriptions end with their scope and the loop stops when nothing is watched.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Chunk, Clock, Deferred, Duration, Effect, Fiber, Layer, Ref, Schedule, Stream } from "effect"
import { ImageId } from "../src/domain/ids.js"
import type { ImageView } from "../src/domain/image.js"
import type { PollChanges } from "../src/services/ChangeFeed.js"
import { ImageRepository } from "../src/services/ImageRepository.js"
import { makeSqlPoll } from "../src/sql/ChangeFeedSql.js"
import { ImageRepositorySql } from "../src/sql/ImageRepositorySql.js"
import { makePollingChangeFeed } from "../src/util/pollingChangeFeed.js"
import { TestDatabase } from "./support/database.js"

const INTERVAL = Duration.millis(20)

const newImage = Effect.gen(function* () {
  const repo = yield* ImageRepository
  const id = ImageId.make(crypto.randomUUID())
  yield* repo.create({
    id,
    declaredContentType: "image/jpeg",
    declaredBytes: 100,
    uploadExpiresAt: new Date(Date.now() + 60_000)
  })
  return id
})

const output = { key: "k", width: 10, height: 10, bytes: 100, contentType: "image/jpeg" }

/** The SQL poll, counting its calls. */
const countingPoll = Effect.gen(function* () {
  const poll = yield* makeSqlPoll
  const calls = { count: 0 }
  const counted: PollChanges = (watched) => Effect.suspend(() => (calls.count++, poll(watched)))
  return { poll: counted, calls }
})

const readySizes = (view: ImageView) => view.renditions.filter((r) => r.status === "ready").map((r) => r.size)

layer(ImageRepositorySql.pipe(Layer.provideMerge(TestDatabase)), { timeout: 120_000, excludeTestServices: true })(
  (it) => {
    it.scoped("each subscriber gets the state at its first tick, then every write, in order", () =>
      Effect.gen(function* () {
        const repo = yield* ImageRepository
        const { poll } = yield* countingPoll
        const feed = yield* makePollingChangeFeed({ interval: INTERVAL, poll })
        const id = yield* newImage
        const views = yield* feed.subscribe(id)
        // Each write waits until the subscriber has seen the state before it (not a fixed sleep,
        // which a loaded machine can outrun): every state must arrive, once, in order.
        const seenRef = yield* Ref.make<ReadonlyArray<ImageView>>([])
        const collected = yield* views.pipe(
          Stream.takeUntil((view) => view.image.status === "ready"),
          Stream.runForEach((view) => Ref.update(seenRef, (seen) => [...seen, view])),
          Effect.fork
        )
        const seenAtLeast = (n: number) =>
          Ref.get(seenRef).pipe(
            Effect.repeat({ until: (seen) => seen.length >= n, schedule: Schedule.spaced(INTERVAL) }),
            Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`fewer than ${n} states seen`) })
          )
        yield* seenAtLeast(1)
        yield* repo.markUploaded([{ id, bytes: 100 }])
        yield* seenAtLeast(2)
        let states = 2
        for (const size of ["small", "medium", "large"] as const) {
          yield* repo.recordRendition(id, size, output, ["small", "medium", "large"])
          yield* seenAtLeast(++states)
        }
        yield* Fiber.join(collected)
        const seen = yield* Ref.get(seenRef)
        expect(seen[0]!.image.status).toBe("awaiting_upload")
        expect(seen.at(-1)!.image.status).toBe("ready")
        expect(seen.map((view) => readySizes(view).length)).toEqual([0, 0, 1, 2, 3])
        expect(seen.map((view) => view.image.status)).toEqual([
          "awaiting_upload",
          "processing",
          "processing",
          "processing",
          "ready"
        ])
      }))

    it.scoped("40 subscribers on 8 images: one poll per tick, and each change only to its image's subscribers", () =>
      Effect.gen(function* () {
        const repo = yield* ImageRepository
        const { calls, poll } = yield* countingPoll
        const feed = yield* makePollingChangeFeed({ interval: INTERVAL, poll })
        const ids = yield* Effect.all(Array.from({ length: 8 }, () => newImage))
        const streams = yield* Effect.forEach(ids.flatMap((id) => [id, id, id, id, id]), (id) => feed.subscribe(id))
        const firsts = yield* Effect.forEach(
          streams,
          (stream) => stream.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
        )
        expect(yield* feed.stats).toMatchObject({ subscribers: 40, watched: 8, running: true })

        // One poll per tick however many subscribers: at most one per interval (40 subscribers each
        // polling would be 40×), and it keeps polling (at least two more, however loaded the machine).
        const before = calls.count
        const started = yield* Clock.currentTimeMillis
        yield* Effect.sleep(Duration.millis(500))
        yield* Effect.sync(() => calls.count - before).pipe(
          Effect.repeat({ until: (ticks) => ticks >= 2, schedule: Schedule.spaced(INTERVAL) }),
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the feed stopped polling") })
        )
        const elapsed = (yield* Clock.currentTimeMillis) - started
        const ticks = calls.count - before
        expect(ticks).toBeGreaterThanOrEqual(2)
        expect(ticks).toBeLessThanOrEqual(Math.ceil(elapsed / Duration.toMillis(INTERVAL)) + 1)
        expect((yield* feed.stats).polls).toBe(calls.count)

        yield* repo.markUploaded([{ id: ids[0]!, bytes: 100 }])
        // The first image's five subscribers get the change; the others got only their first state.
        for (const fiber of firsts.slice(0, 5)) {
          const got = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
          expect(got.map((view) => view.image.status)).toEqual(["awaiting_upload", "processing"])
        }
        yield* Effect.sleep(INTERVAL.pipe(Duration.times(5)))
        for (const fiber of firsts.slice(5)) expect(fiber.unsafePoll()).toBeNull()
        yield* Effect.forEach(firsts.slice(5), Fiber.interrupt)
      }))

    it.scoped("a write whose updated_at is old is still found, at the next full tick", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { poll } = yield* countingPoll
        const feed = yield* makePollingChangeFeed({ interval: INTERVAL, poll })
        const id = yield* newImage
        const views = yield* feed.subscribe(id)
        const first = yield* Deferred.make<void>()
        const second = yield* views.pipe(
          Stream.take(2),
          Stream.tap(() => Deferred.succeed(first, undefined)),
          Stream.runCollect,
          Effect.fork
        )
        // The write comes after the first state was seen (however slow the machine), then ticks pass.
        yield* Deferred.await(first)
        yield* Effect.sleep(INTERVAL.pipe(Duration.times(3)))
        // As a transaction that started long before it committed would leave it.
        yield* sql`UPDATE images SET original_bytes = 5, updated_at = now() - interval '2 hours' WHERE id = ${id}`
        const got = Chunk.toReadonlyArray(yield* Fiber.join(second).pipe(Effect.timeout(Duration.seconds(10))))
        expect(got[1]!.image.originalBytes).toBe(5)
      }))

    it.effect("closing a subscription's scope releases it; with none left the loop stops polling", () =>
      Effect.gen(function* () {
        const { calls, poll } = yield* countingPoll
        const feed = yield* makePollingChangeFeed({ interval: INTERVAL, poll })
        const id = yield* newImage
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* feed.subscribe(id)
            yield* feed.subscribe(id)
            expect(yield* feed.stats).toMatchObject({ subscribers: 2, watched: 1, running: true })
            yield* Effect.sleep(INTERVAL.pipe(Duration.times(3)))
          })
        )
        expect(yield* feed.stats).toMatchObject({ subscribers: 0, watched: 0 })
        // The loop ends after the poll in flight (a slow one on a loaded machine), then polls no more.
        yield* feed.stats.pipe(
          Effect.repeat({ until: (stats) => !stats.running, schedule: Schedule.spaced(INTERVAL) }),
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the loop kept running") })
        )
        const stopped = calls.count
        yield* Effect.sleep(INTERVAL.pipe(Duration.times(5)))
        expect(calls.count).toBe(stopped)
      }).pipe(Effect.scoped))
  }
)
