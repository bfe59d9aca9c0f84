import { Context, type Effect } from "effect"
import type { QueueError } from "../domain/errors.js"

/** What an operator sees of one queue. */
export interface QueueStats {
  /** `small`, `medium`, `large`, `dead_letter` (and `webhooks`, `webhooks_dead_letter` where present). */
  readonly name: string
  readonly deadLetter: boolean
  /** Messages waiting to be received. */
  readonly depth: number
  /** Received and not yet deleted (being worked on, or waiting out a retry delay). */
  readonly inFlight: number
  /** Age of the oldest message in seconds; `null` when empty or not known. */
  readonly oldestAgeSeconds: number | null
}

/** One dead-letter queue sent back to its source queues. */
export interface RedriveResult {
  readonly queue: string
  /** Messages moved (done at once), or about to move (an asynchronous task); `null` when not known. */
  readonly messages: number | null
  /** The asynchronous move task (SQS `StartMessageMoveTask`), `null` when the move is already done. */
  readonly taskHandle: string | null
}

/**
 * The operator's view of the queues: statistics of each size queue and of the dead-letter queue,
 * and the redrive of dead-lettered jobs to the queues they came from. Embedded: the job tables
 * (`local/PgQueueAdmin.ts`); AWS: SQS (`aws/SqsQueueAdmin.ts`).
 */
export class QueueAdmin extends Context.Tag("imgpipe/QueueAdmin")<
  QueueAdmin,
  {
    readonly stats: Effect.Effect<ReadonlyArray<QueueStats>, QueueError>
    readonly redrive: Effect.Effect<ReadonlyArray<RedriveResult>, QueueError>
  }
>() {}
