import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The embedded mode's three size queues (`local/PgQueue.ts`): one `jobs` table partitioned by the
 * `queue` column, and `dead_jobs` for messages that used up their receives (SQS's redrive
 * policy). Unused (but harmless) when the queues are SQS.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE jobs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      queue text NOT NULL CONSTRAINT jobs_queue_check CHECK (queue IN ('small', 'medium', 'large')),
      body jsonb NOT NULL,
      receive_count integer NOT NULL DEFAULT 0 CONSTRAINT jobs_receive_count_check CHECK (receive_count >= 0),
      visible_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `

  // Receiving scans the visible jobs of one queue, oldest first.
  yield* sql`CREATE INDEX jobs_queue_visible_idx ON jobs (queue, visible_at, id)`

  yield* sql`
    CREATE TABLE dead_jobs (
      id bigint PRIMARY KEY,
      queue text NOT NULL CONSTRAINT dead_jobs_queue_check CHECK (queue IN ('small', 'medium', 'large')),
      body jsonb NOT NULL,
      receive_count integer NOT NULL,
      last_error text,
      created_at timestamptz NOT NULL,
      moved_at timestamptz NOT NULL DEFAULT now()
    )
  `

  yield* sql`CREATE INDEX dead_jobs_queue_idx ON dead_jobs (queue, moved_at)`
})
