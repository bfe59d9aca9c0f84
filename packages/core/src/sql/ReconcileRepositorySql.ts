import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { ImageId } from "../domain/ids.js"
import { ImageSize } from "../domain/sizes.js"
import { ReconcileRepository } from "../services/ImageRepository.js"
import { sqlDefectsAsFailures, sqlOperation, toDatabaseError } from "./rows.js"

/**
 * `ReconcileRepository` on PostgreSQL (a server or the embedded PGlite): the reconciler's queries
 * (usecases/reconcile.ts). The two that find work read their slice through a partial index of
 * migration 0006 and take their rows `FOR UPDATE SKIP LOCKED` (so two reconcilers never claim the
 * same row); the writes act on rows so taken. Times are the database's `now()` (the transaction's
 * start); progress is the image row's `updated_at` and its renditions'. `transaction` is a
 * database transaction: with the embedded queue (PgQueue, same database) the jobs it sends commit
 * or roll back with it. Provided, with `ImageRepository`, by `ImageRepositorySql`.
 */

const StalledRow = Schema.Struct({
  id: ImageId,
  stall_resends: Schema.Int,
  ready_sizes: Schema.Array(ImageSize)
})
const decodeStalled = Schema.decodeUnknown(Schema.Array(StalledRow))
const decodeIds = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: ImageId })))

/** See the interface (services/ImageRepository.ts) for what each query does. */
export const makeReconcile = Effect.gen(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()

  const run = sqlOperation("ReconcileRepository")

  const touch = (operation: string, ids: ReadonlyArray<ImageId>, resent: boolean) =>
    ids.length === 0
      ? Effect.void
      : sql`
          UPDATE images
          SET updated_at = now(), stall_resends = stall_resends + ${resent ? 1 : 0}
          WHERE id = ANY(${ids}::uuid[]) AND status = 'processing'`.pipe(Effect.asVoid, run(operation))

  return ReconcileRepository.of({
    transaction: (effect) =>
      sql.withTransaction(effect).pipe(
        Effect.catchIf(
          (error): error is SqlError => error instanceof SqlError,
          (error) => Effect.fail(toDatabaseError("transaction")(error))
        ),
        sqlDefectsAsFailures("transaction")
      ),

    // Read through the partial index on upload_expires_at (awaiting_upload only).
    findExpirable: ({ graceSeconds, limit }) =>
      sql`
        SELECT id FROM images
        WHERE status = 'awaiting_upload'
          AND upload_expires_at < now() - make_interval(secs => ${graceSeconds})
        ORDER BY upload_expires_at
        LIMIT ${limit}`.pipe(
        Effect.flatMap(decodeIds),
        Effect.map((rows) => rows.map((row) => row.id)),
        run("findExpirable")
      ),

    // The status is re-checked under the row lock the UPDATE takes: a row another reconciler
    // expired, or a late notification started, meanwhile is left alone and not returned.
    expireUploads: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : sql`
        UPDATE images
        SET status = 'expired', updated_at = now()
        WHERE id = ANY(${ids}::uuid[]) AND status = 'awaiting_upload'
        RETURNING id`.pipe(
          Effect.flatMap(decodeIds),
          Effect.map((rows) => rows.map((row) => row.id)),
          run("expireUploads")
        ),

    // The index on `updated_at` (processing only) finds the candidates: the image row's clock is
    // never later than the last progress. A rendition recorded since then is progress too.
    lockStalled: ({ stallSeconds, limit }) =>
      sql`
        SELECT i.id, i.stall_resends,
               ARRAY(SELECT r.size FROM renditions r WHERE r.image_id = i.id AND r.status = 'ready') AS ready_sizes
        FROM images i
        WHERE i.status = 'processing'
          AND i.updated_at < now() - make_interval(secs => ${stallSeconds})
          AND NOT EXISTS (SELECT 1 FROM renditions r
                          WHERE r.image_id = i.id
                            AND r.updated_at >= now() - make_interval(secs => ${stallSeconds}))
        ORDER BY i.updated_at
        LIMIT ${limit}
        FOR UPDATE OF i SKIP LOCKED`.pipe(
        Effect.flatMap(decodeStalled),
        Effect.map((rows) =>
          rows.map((row) => ({ id: row.id, stallResends: row.stall_resends, readySizes: row.ready_sizes }))
        ),
        run("lockStalled")
      ),

    markResent: (ids) => touch("markResent", ids, true),

    deferStalled: (ids) => touch("deferStalled", ids, false),

    failStalled: (images) => {
      if (images.length === 0) return Effect.void
      const missing = images.flatMap((image) =>
        image.missing.map((size) => ({ id: image.id, size, message: image.message }))
      )
      return Effect.gen(function* () {
        if (missing.length > 0) {
          yield* sql`
            INSERT INTO renditions (image_id, size, status, error_code, error_message)
            SELECT id, size, 'failed', 'processing_failed', message
            FROM unnest(${missing.map((m) => m.id)}::uuid[], ${missing.map((m) => m.size)}::text[],
                        ${missing.map((m) => m.message)}::text[]) AS t(id, size, message)
            ON CONFLICT (image_id, size) DO UPDATE
            SET status = 'failed', error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
                updated_at = now()
            WHERE renditions.status <> 'ready'`
        }
        yield* sql`
          UPDATE images
          SET status = 'failed', error_code = 'processing_failed', error_message = t.message, updated_at = now()
          FROM unnest(${images.map((i) => i.id)}::uuid[], ${images.map((i) => i.message)}::text[]) AS t(id, message)
          WHERE images.id = t.id AND images.status = 'processing'`
      }).pipe(run("failStalled"))
    }
  })
})
