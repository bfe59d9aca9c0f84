import { SqlClient, SqlSchema } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option, type ParseResult, Schema } from "effect"
import { DatabaseError } from "../domain/errors.js"
import { ImageId } from "../domain/ids.js"
import { ImageRepository, ReconcileRepository } from "../services/ImageRepository.js"
import { makeReconcile } from "./ReconcileRepositorySql.js"
import { ImageFromRow, RenditionFromRow, sqlDefectsAsFailures, sqlOperation } from "./rows.js"

/**
 * A rejection is final: no later write turns such an image `ready` or replaces its reason.
 * `isRejected` (domain/rules.ts) as SQL over the `images` row (`images_error_check`: a `failed`
 * row always has a code).
 */
const NOT_REJECTED = "NOT (status = 'failed' AND error_code IS DISTINCT FROM 'processing_failed')"

/**
 * `ImageRepository` on PostgreSQL (a server or the embedded PGlite).
 *
 * Every write is idempotent, and a repeat that changes nothing does not even touch `updated_at`:
 * updates carry an `IS DISTINCT FROM` guard, upserts a `DO UPDATE … WHERE`. The two writes that
 * decide the image's status from its renditions lock the image row first (`FOR UPDATE`), so the
 * three sizes finishing at once serialize on it and the last one sees the other two.
 */
export const make = Effect.gen(function* () {
  // Raw column names whatever transforms the shared client was built with: the row schemas map them.
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()

  const run = sqlOperation("ImageRepository")

  /** A transaction whose every failure, COMMIT included, is a `DatabaseError`. */
  const transaction =
    (operation: string) => <A, R>(effect: Effect.Effect<A, SqlError | ParseResult.ParseError | DatabaseError, R>) =>
      run(operation)(sql.withTransaction(effect)).pipe(sqlDefectsAsFailures(operation))

  const findImage = SqlSchema.findOne({
    Request: ImageId,
    Result: ImageFromRow,
    execute: (id) => sql`SELECT * FROM images WHERE id = ${id}`
  })

  /** The row lock that serializes status decisions on one image (inside a transaction only). */
  const lockImage = SqlSchema.findOne({
    Request: ImageId,
    Result: ImageFromRow,
    execute: (id) => sql`SELECT * FROM images WHERE id = ${id} FOR UPDATE`
  })

  const findRenditions = SqlSchema.findAll({
    Request: ImageId,
    Result: RenditionFromRow,
    execute: (id) =>
      sql`
      SELECT * FROM renditions
      WHERE image_id = ${id}
      ORDER BY CASE size WHEN 'small' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END`
  })

  /**
   * The image with its latest webhook delivery (the outbox row of its last terminal status) in the
   * same round trip: `webhook_*` columns, null when it has none.
   */
  const findImageWithWebhook = SqlSchema.findOne({
    Request: ImageId,
    Result: Schema.Struct({
      image: ImageFromRow,
      webhook: Schema.NullOr(Schema.Struct({
        attempts: Schema.Int,
        deliveredAt: Schema.NullOr(Schema.DateFromSelf),
        lastError: Schema.NullOr(Schema.String)
      }))
    }),
    execute: (id) =>
      sql<Record<string, unknown>>`
      SELECT images.*, w.attempts AS webhook_attempts, w.delivered_at AS webhook_delivered_at,
             w.last_error AS webhook_last_error
      FROM images
      LEFT JOIN LATERAL (
        SELECT attempts, delivered_at, last_error FROM webhook_deliveries
        WHERE image_id = images.id
        ORDER BY created_at DESC, event_id DESC
        LIMIT 1
      ) w ON true
      WHERE images.id = ${id}`.pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            image: row,
            webhook: row["webhook_attempts"] === null || row["webhook_attempts"] === undefined
              ? null
              : {
                attempts: row["webhook_attempts"],
                deliveredAt: row["webhook_delivered_at"],
                lastError: row["webhook_last_error"]
              }
          }))
        )
      )
  })

  const insertImage = SqlSchema.findOne({
    Request: Schema.Struct({
      id: ImageId,
      declaredContentType: Schema.String,
      declaredBytes: Schema.Int,
      uploadExpiresAt: Schema.DateFromSelf,
      callbackUrl: Schema.NullOr(Schema.String)
    }),
    Result: ImageFromRow,
    // A repeated create (a retried request) finds the row it made the first time. The second
    // branch reads the statement's snapshot, i.e. the row as it was before this INSERT.
    execute: (input) =>
      sql`
      WITH inserted AS (
        INSERT INTO images (id, declared_content_type, declared_bytes, upload_expires_at, callback_url)
        VALUES (${input.id}, ${input.declaredContentType}, ${input.declaredBytes}, ${input.uploadExpiresAt},
                ${input.callbackUrl})
        ON CONFLICT (id) DO NOTHING
        RETURNING *
      )
      SELECT * FROM inserted
      UNION ALL
      SELECT * FROM images WHERE id = ${input.id} AND NOT EXISTS (SELECT 1 FROM inserted)`
  })

  /** A row of `uploadImages`: the image and whether this statement started it. */
  const decodeUploaded = Schema.decodeUnknown(
    Schema.Array(Schema.Struct({ image: ImageFromRow, started: Schema.Boolean }))
  )

  /**
   * One statement for a batch of notifications. The second branch reads the statement's snapshot,
   * i.e. the rows as they were before this UPDATE: the ones it did not start.
   */
  const uploadImages = (uploads: ReadonlyArray<{ readonly id: ImageId; readonly bytes: number }>) => {
    const ids = uploads.map((u) => u.id)
    const bytes = uploads.map((u) => u.bytes)
    return sql<Record<string, unknown>>`
      WITH input AS (
        SELECT * FROM unnest(${ids}::uuid[], ${bytes}::bigint[]) AS t(id, bytes)
      ), updated AS (
        UPDATE images
        SET status = 'processing', original_bytes = input.bytes, updated_at = now()
        FROM input
        WHERE images.id = input.id AND images.status = 'awaiting_upload'
        RETURNING images.*
      )
      SELECT updated.*, true AS started FROM updated
      UNION ALL
      SELECT images.*, false AS started FROM images
      WHERE images.id = ANY(${ids}::uuid[]) AND images.id NOT IN (SELECT id FROM updated)`.pipe(
      Effect.flatMap((rows) => decodeUploaded(rows.map((row) => ({ image: row, started: row["started"] }))))
    )
  }

  const recordRenditionCall = SqlSchema.findOne({
    Request: Schema.Struct({
      id: ImageId,
      size: Schema.String,
      key: Schema.String,
      width: Schema.Int,
      height: Schema.Int,
      bytes: Schema.Int,
      contentType: Schema.String,
      required: Schema.Array(Schema.String)
    }),
    Result: ImageFromRow,
    execute: (r) =>
      sql`
      SELECT * FROM imgpipe_record_rendition(
        ${r.id}::uuid, ${r.size}::text, ${r.key}::text, ${r.width}::int, ${r.height}::int,
        ${r.bytes}::bigint, ${r.contentType}::text, ${r.required}::text[])`
  })

  const listAwaiting = SqlSchema.findAll({
    Request: Schema.Int,
    Result: ImageFromRow,
    execute: (limit) =>
      sql`
      SELECT * FROM images
      WHERE status = 'awaiting_upload'
      ORDER BY created_at, id
      LIMIT ${limit}`
  })

  const missing = (operation: string, id: ImageId) => new DatabaseError({ operation, message: `no image ${id}` })

  return ImageRepository.of({
    create: (input) =>
      insertImage({ ...input, callbackUrl: input.callbackUrl ?? null }).pipe(
        // Only when a concurrent create of the same id committed between our snapshot and our
        // insert: by now the row is visible.
        Effect.flatMap((row) => (Option.isSome(row) ? Effect.succeed(row) : findImage(input.id))),
        Effect.flatMap(
          Option.match({ onSome: Effect.succeed, onNone: () => Effect.fail(missing("create", input.id)) })
        ),
        run("create")
      ),

    find: (id) =>
      findImageWithWebhook(id).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.succeedNone,
            onSome: ({ image, webhook }) =>
              Effect.map(findRenditions(id), (renditions) => Option.some({ image, renditions, webhook }))
          })
        ),
        run("find")
      ),

    markUploaded: (uploads) =>
      uploads.length === 0
        ? Effect.succeed([])
        : uploadImages(uploads).pipe(run("markUploaded")),

    recordOriginal: (id, info) =>
      sql`
        UPDATE images
        SET original_format = ${info.format},
            original_content_type = ${info.contentType},
            original_width = ${info.width},
            original_height = ${info.height},
            updated_at = now()
        WHERE id = ${id}
          AND (original_format, original_content_type, original_width, original_height)
              IS DISTINCT FROM (${info.format}::text, ${info.contentType}::text, ${info.width}::int, ${info.height}::int)
      `.pipe(Effect.asVoid, run("recordOriginal")),

    recordRendition: (id, size, output, allSizes) =>
      // One round trip: the lock, the upsert and the status decision run inside the server
      // (migration 0004), so no connection is held across the network between them.
      recordRenditionCall({
        id,
        size,
        key: output.key,
        width: output.width,
        height: output.height,
        bytes: output.bytes,
        contentType: output.contentType,
        required: [...new Set(allSizes)]
      }).pipe(
        Effect.flatMap(
          Option.match({ onNone: () => Effect.fail(missing("recordRendition", id)), onSome: Effect.succeed })
        ),
        run("recordRendition")
      ),

    // The first rejection stands: the three size jobs decode the same bytes at once and may word
    // the same refusal differently (libvips' error text is not per call), and the status and
    // every `get_image` must keep giving the same reason. A rejection does replace a dead letter.
    markRejected: (id, { code, message }) =>
      sql`
        UPDATE images
        SET status = 'failed', error_code = ${code}, error_message = ${message}, updated_at = now()
        WHERE id = ${id}
          AND status <> 'ready'
          AND ${sql.literal(NOT_REJECTED)}
      `.pipe(Effect.asVoid, run("markRejected")),

    markRenditionFailed: (id, size, { code, message }) =>
      Effect.gen(function* () {
        const locked = yield* lockImage(id)
        // No image, nothing to say why about: a job for a deleted or unknown image.
        if (Option.isNone(locked)) return

        yield* sql`
          INSERT INTO renditions (image_id, size, status, error_code, error_message)
          VALUES (${id}, ${size}, 'failed', ${code}, ${message})
          ON CONFLICT (image_id, size) DO UPDATE
          SET status = 'failed', error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
              updated_at = now()
          WHERE renditions.status <> 'ready'
            AND (renditions.status, renditions.error_code, renditions.error_message)
                IS DISTINCT FROM ('failed', EXCLUDED.error_code, EXCLUDED.error_message)`

        // The image fails only for a size that really is missing (a late duplicate of a job whose
        // rendition exists changes nothing), and never replaces a rejection.
        yield* sql`
          UPDATE images
          SET status = 'failed', error_code = ${code}, error_message = ${message}, updated_at = now()
          WHERE id = ${id}
            AND status <> 'ready'
            AND ${sql.literal(NOT_REJECTED)}
            AND (status, error_code, error_message) IS DISTINCT FROM ('failed', ${code}::text, ${message}::text)
            AND NOT EXISTS (SELECT 1 FROM renditions
                            WHERE image_id = ${id} AND size = ${size} AND status = 'ready')`
      }).pipe(transaction("markRenditionFailed")),

    markOriginalRemoved: (id) =>
      sql`
        UPDATE images SET original_stored = false, updated_at = now()
        WHERE id = ${id} AND original_stored
      `.pipe(Effect.asVoid, run("markOriginalRemoved")),

    listAwaitingUpload: (limit) => listAwaiting(limit).pipe(run("listAwaitingUpload")),

    ping: sql`SELECT 1`.pipe(Effect.asVoid, run("ping"))
  })
})

/**
 * `ImageRepository` (and the reconciler's `ReconcileRepository`) over whichever `SqlClient` the
 * runtime provides.
 */
export const ImageRepositorySql: Layer.Layer<ImageRepository | ReconcileRepository, never, SqlClient.SqlClient> = Layer
  .effectContext(
    Effect.all([make, makeReconcile]).pipe(
      Effect.map(([repository, reconcile]) =>
        Context.make(ImageRepository, repository).pipe(Context.add(ReconcileRepository, reconcile))
      )
    )
  )
