import { Duration, Effect, Layer, Option } from "effect"
import { ChangeFeed, type ImageChange, type PollChanges } from "../services/ChangeFeed.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { makePollingChangeFeed } from "../util/pollingChangeFeed.js"

/**
 * A poll over whatever `ImageRepository` is provided (the in-memory one in use-case tests): each
 * watched image is read with `find` and its fingerprint is the view as JSON, so every write the
 * repository makes shows up at the next tick, as with the SQL feed.
 */
export const makeRepositoryPoll = Effect.gen(function* () {
  const repository = yield* ImageRepository
  const poll: PollChanges = (watched) =>
    Effect.forEach(
      watched,
      ({ fingerprint, id }) =>
        Effect.map(repository.find(id), (found) =>
          Option.flatMap(found, (view): Option.Option<ImageChange> => {
            const now = JSON.stringify(view)
            return now === fingerprint ? Option.none() : Option.some({ id, fingerprint: now, view })
          }))
    ).pipe(Effect.map((changes) => changes.flatMap(Option.toArray)))
  return poll
})

/**
 * `ChangeFeed` fed by the provided `ImageRepository`, polling every `interval` (Effect's clock: in
 * `it.effect`, `TestClock.adjust` runs the ticks). The same engine as the SQL feed
 * (`util/pollingChangeFeed.ts`); only the poll differs.
 */
export const memoryChangeFeedLayer = (
  options: { readonly interval?: Duration.Duration } = {}
): Layer.Layer<ChangeFeed, never, ImageRepository> =>
  Layer.scoped(
    ChangeFeed,
    Effect.flatMap(
      makeRepositoryPoll,
      (poll) => makePollingChangeFeed({ interval: options.interval ?? Duration.millis(10), poll })
    )
  )
