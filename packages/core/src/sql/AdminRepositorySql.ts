import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Schema } from "effect"
import type { ImageView } from "../domain/image.js"
import { AdminRepository, type ImageListQuery } from "../services/AdminRepository.js"
import { ImageFromRow, RenditionFromRow, sqlDefectsAsFailures, sqlOperation } from "./rows.js"

const decodeImages = Schema.decodeUnknown(Schema.Array(ImageFromRow))
const decodeRenditions = Schema.decodeUnknown(Schema.Array(RenditionFromRow))

const SIZE_ORDER = "CASE size WHEN 'small' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"

/**
 * `AdminRepository` on PostgreSQL (a server or the embedded PGlite). A page is two statements: the
 * images (an index range on `(status, id)` or the primary key, `0010_admin_listing`) and all their
 * renditions at once.
 */
export const make = Effect.gen(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()

  const run = sqlOperation("AdminRepository")

  const withRenditions = (images: ReadonlyArray<typeof ImageFromRow.Type>) =>
    Effect.gen(function* () {
      if (images.length === 0) return []
      const rows = yield* sql`
        SELECT * FROM renditions
        WHERE image_id = ANY(${images.map((image) => image.id)}::uuid[])
        ORDER BY image_id, ${sql.unsafe(SIZE_ORDER)}`.pipe(Effect.flatMap(decodeRenditions))
      return images.map((image): ImageView => ({
        image,
        renditions: rows.filter((rendition) => rendition.imageId === image.id)
      }))
    })

  const listImages = (query: ImageListQuery) => {
    const conditions = [
      ...(query.status === undefined ? [] : [sql`status = ${query.status}`]),
      ...(query.olderThanSeconds === undefined
        ? []
        : [sql`updated_at <= now() - make_interval(secs => ${query.olderThanSeconds})`]),
      ...(query.after === undefined ? [] : [sql`id > ${query.after}::uuid`])
    ]
    return sql`
      SELECT * FROM images
      ${conditions.length === 0 ? sql`` : sql`WHERE ${sql.and(conditions)}`}
      ORDER BY id
      LIMIT ${Math.max(0, Math.floor(query.limit))}`.pipe(
      Effect.flatMap(decodeImages),
      Effect.flatMap(withRenditions),
      run("listImages")
    )
  }

  const reopenForReprocess: AdminRepository["Type"]["reopenForReprocess"] = (id, sizes) =>
    Effect.gen(function* () {
      const reopened = yield* sql`
        UPDATE images
        SET status = 'processing', error_code = NULL, error_message = NULL, stall_resends = 0, updated_at = now()
        WHERE id = ${id}
          AND original_stored
          AND status IN ('processing', 'ready', 'failed')
          AND NOT (status = 'failed' AND error_code IS DISTINCT FROM 'processing_failed')
        RETURNING *`.pipe(Effect.flatMap(decodeImages))
      if (reopened.length === 0) return Option.none<ImageView>()
      // Ready renditions go (else processImage would skip them as done); failed ones stay until
      // made: they tell processImage the original was marked for expiry, which its success unmarks.
      yield* sql`DELETE FROM renditions WHERE image_id = ${id} AND size = ANY(${sizes}::text[]) AND status = 'ready'`
      const [view] = yield* withRenditions(reopened)
      return Option.fromNullable(view)
    }).pipe(sql.withTransaction, run("reopenForReprocess"), sqlDefectsAsFailures("reopenForReprocess"))

  return AdminRepository.of({ listImages, reopenForReprocess })
})

export const AdminRepositorySql: Layer.Layer<AdminRepository, never, SqlClient.SqlClient> = Layer.effect(
  AdminRepository,
  make
)
