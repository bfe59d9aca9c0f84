import { Context, type Effect, type Scope, type Stream } from "effect"
import type { DatabaseError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import type { ImageView } from "../domain/image.js"

/** What the feed is doing, for tests, the bench and diagnostics. */
export interface ChangeFeedStats {
  /** Open subscriptions (one per open event stream). */
  readonly subscribers: number
  /** Distinct images watched. */
  readonly watched: number
  /** Poll queries run since the process started (one per tick while anything is watched). */
  readonly polls: number
  /** Whether the poll loop runs (only while there are subscribers). */
  readonly running: boolean
}

/**
 * The changes of watched images, one feed per process: however many subscribers, one poll per tick
 * finds the watched images that changed since the last tick and fans each new state out to that
 * image's subscribers. It reads the store, so it sees changes made by other processes (the ECS API
 * sees what the Lambdas write).
 */
export class ChangeFeed extends Context.Tag("imgpipe/ChangeFeed")<
  ChangeFeed,
  {
    /**
     * Watches one image for the life of the scope. The stream gets every state of the image read by
     * a poll that started after this call (so each is at least as recent as anything the caller read
     * before subscribing), in order; it may repeat a state. The first poll after a subscription
     * always sends the image's state, changed or not. It never fails (a failed poll is logged and
     * retried at the next tick) and ends when the scope closes.
     */
    readonly subscribe: (id: ImageId) => Effect.Effect<Stream.Stream<ImageView>, never, Scope.Scope>
    readonly stats: Effect.Effect<ChangeFeedStats>
  }
>() {}

/** One watched image as a poll sees it: `fingerprint` is what the last poll found, null for "send it anyway". */
export interface WatchedImage {
  readonly id: ImageId
  readonly fingerprint: string | null
}

/** An image whose fingerprint differs from the one given, with its state now. */
export interface ImageChange {
  readonly id: ImageId
  readonly fingerprint: string
  readonly view: ImageView
}

/**
 * One poll: of the watched images, those whose state differs from their fingerprint (all those
 * with none), with their fingerprint and state now. Images that no longer exist are left out.
 */
export type PollChanges = (
  watched: ReadonlyArray<WatchedImage>
) => Effect.Effect<ReadonlyArray<ImageChange>, DatabaseError>
