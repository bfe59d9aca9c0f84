/**
 * The `ChangeFeed` engine, whatever the store: one poll loop per process, running only while
 * something is watched, and one `PubSub` per watched image that fans its new states out to that
 * image's subscribers. The store only says which watched images changed (`PollChanges`): the SQL
 * layer with one query per tick, the in-memory layer by comparing records.
 */
import { Cause, type Duration, Effect, FiberSet, PubSub, Stream } from "effect"
import type { ImageId } from "../domain/ids.js"
import type { ImageView } from "../domain/image.js"
import { ChangeFeed, type ChangeFeedStats, type PollChanges } from "../services/ChangeFeed.js"

/** A state, stamped with the number of the poll that read it. */
interface Published {
  readonly poll: number
  readonly view: ImageView
}

interface Entry {
  readonly pubsub: PubSub.PubSub<Published>
  subscribers: number
  /** What the last poll found; null: send the state at the next poll, changed or not. */
  fingerprint: string | null
  /** Bumped by each new subscriber, so a poll already under way does not overwrite its reset. */
  generation: number
}

/**
 * A `ChangeFeed` over `poll`, run every `interval` while there are subscribers. The loop runs in
 * the scope (the layer's), so closing it stops the loop.
 *
 * Ordering: a subscriber takes only states read by polls that started after it subscribed, and its
 * subscription resets the image's fingerprint so the next poll sends the state whatever it is. So
 * a caller that read the image before subscribing never gets an older state afterwards, and misses
 * no change made after its read.
 */
export const makePollingChangeFeed = (options: { readonly interval: Duration.Duration; readonly poll: PollChanges }) =>
  Effect.gen(function* () {
    // The loop runs on the layer's runtime (not the first subscriber's fiber) and stops with its scope.
    const runFork = yield* FiberSet.makeRuntime<never>()
    const entries = new Map<ImageId, Entry>()
    let pollsStarted = 0
    let pollsRun = 0
    let running = false
    let failing = false

    const pollOnce = Effect.suspend(() => {
      pollsStarted++
      const poll = pollsStarted
      const snapshot = new Map(
        Array.from(entries, ([id, entry]) => [id, { entry, generation: entry.generation }] as const)
      )
      if (snapshot.size === 0) return Effect.void
      pollsRun++
      const watched = Array.from(entries, ([id, entry]) => ({ id, fingerprint: entry.fingerprint }))
      return options.poll(watched).pipe(
        Effect.flatMap((changes) =>
          Effect.forEach(changes, (change) => {
            const watched = snapshot.get(change.id)
            if (watched === undefined || entries.get(change.id) !== watched.entry) return Effect.void
            // A subscriber that joined during this poll reset the fingerprint: leave it for the next.
            if (watched.entry.generation === watched.generation) watched.entry.fingerprint = change.fingerprint
            return PubSub.publish(watched.entry.pubsub, { poll, view: change.view })
          }, { discard: true })
        ),
        Effect.tap(() => {
          if (!failing) return Effect.void
          failing = false
          return Effect.logInfo("change feed: polling works again")
        })
      )
    })

    /** Logs the first failure of a streak (a database outage would otherwise log every tick). */
    const keepGoing = Effect.catchAllCause(pollOnce, (cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      if (failing) return Effect.void
      failing = true
      return Effect.logWarning("change feed: a poll failed; event streams wait for the next tick", cause)
    })

    // The check and `running = false` happen in one synchronous step, so a subscriber arriving
    // just then either is seen by the check or finds the loop stopped and starts another.
    const loop = Effect.sleep(options.interval).pipe(
      Effect.zipRight(keepGoing),
      Effect.repeat({
        while: () => {
          if (entries.size > 0) return true
          running = false
          return false
        }
      }),
      Effect.onInterrupt(() => Effect.sync(() => (running = false)))
    )

    const startLoop = Effect.suspend(() => {
      if (running) return Effect.void
      running = true
      return Effect.sync(() => runFork(loop))
    })

    const release = (id: ImageId, entry: Entry) =>
      Effect.suspend(() => {
        entry.subscribers--
        if (entry.subscribers > 0 || entries.get(id) !== entry) return Effect.void
        entries.delete(id)
        return PubSub.shutdown(entry.pubsub)
      })

    const subscribe = (id: ImageId) =>
      Effect.gen(function* () {
        const entry = yield* Effect.acquireRelease(
          Effect.suspend(() => {
            const existing = entries.get(id)
            if (existing !== undefined) {
              existing.subscribers++
              return Effect.succeed(existing)
            }
            return Effect.map(PubSub.unbounded<Published>(), (pubsub) => {
              const created: Entry = { pubsub, subscribers: 1, fingerprint: null, generation: 0 }
              entries.set(id, created)
              return created
            })
          }),
          (entry) => release(id, entry)
        )
        const dequeue = yield* PubSub.subscribe(entry.pubsub)
        // After the dequeue exists: only polls that start from here on count for this subscriber.
        const after = pollsStarted
        entry.fingerprint = null
        entry.generation++
        yield* startLoop
        return Stream.fromQueue(dequeue).pipe(
          Stream.filter((published) => published.poll > after),
          Stream.map((published) => published.view)
        )
      })

    const stats = Effect.sync((): ChangeFeedStats => {
      let subscribers = 0
      for (const entry of entries.values()) subscribers += entry.subscribers
      return { subscribers, watched: entries.size, polls: pollsRun, running }
    })

    return ChangeFeed.of({ subscribe, stats })
  })
