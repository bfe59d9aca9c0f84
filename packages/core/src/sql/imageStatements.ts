import type { SqlClient } from "@effect/sql"
import { SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import { ImageId } from "../domain/ids.js"
import { Placeholder, RenditionVariant } from "../domain/image.js"
import { ImageFromRow, RenditionFromRow } from "./rows.js"

/**
 * The statements `ImageRepositorySql` runs that read rows back (decoded by the row schemas):
 * prepared once per client. `sql` is the client without name transforms.
 */
export const makeImageStatements = (sql: SqlClient.SqlClient) => {
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
      variants: Schema.Array(RenditionVariant),
      placeholder: Schema.NullOr(Placeholder),
      duplicateOf: Schema.NullOr(ImageId),
      required: Schema.Array(Schema.String)
    }),
    Result: ImageFromRow,
    // jsonb as text, cast by the server: the same on node-postgres and PGlite.
    execute: (r) =>
      sql`
      SELECT * FROM imgpipe_record_rendition(
        ${r.id}::uuid, ${r.size}::text, ${r.key}::text, ${r.width}::int, ${r.height}::int,
        ${r.bytes}::bigint, ${r.contentType}::text, ${JSON.stringify(r.variants)}::jsonb,
        ${r.placeholder === null ? null : JSON.stringify(r.placeholder)}::jsonb, ${r.duplicateOf}::uuid,
        ${r.required}::text[])`
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

  return {
    findImage,
    lockImage,
    findRenditions,
    findImageWithWebhook,
    insertImage,
    uploadImages,
    recordRenditionCall,
    listAwaiting
  }
}
