import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Reconciliation (`usecases/reconcile.ts`):
 * - `expired`, a terminal status for an image whose upload never arrived. It carries no error
 *   code, so `images_error_check` (`(status = 'failed') = (error_code IS NOT NULL)`) still holds.
 * - `stall_resends`: how many times the reconciler re-sent a stalled image's missing sizes (the
 *   second stall fails it).
 * - Two partial indexes, so each reconcile query reads only its slice: `processing` images by
 *   their progress clock (`updated_at`), and `awaiting_upload` images by the expiry of their
 *   upload URL.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    ALTER TABLE images DROP CONSTRAINT images_status_check,
      ADD CONSTRAINT images_status_check
      CHECK (status IN ('awaiting_upload', 'processing', 'ready', 'failed', 'expired'))
  `)
  yield* sql.unsafe(`
    ALTER TABLE images ADD COLUMN stall_resends integer NOT NULL DEFAULT 0
      CONSTRAINT images_stall_resends_check CHECK (stall_resends >= 0)
  `)
  yield* sql.unsafe(`CREATE INDEX images_processing_progress_idx ON images (updated_at) WHERE status = 'processing'`)
  yield* sql.unsafe(
    `CREATE INDEX images_upload_expiry_idx ON images (upload_expires_at) WHERE status = 'awaiting_upload'`
  )
})
