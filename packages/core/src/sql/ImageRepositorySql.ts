import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option, type ParseResult } from "effect"
import { DatabaseError } from "../domain/errors.js"
import { ImageId } from "../domain/ids.js"
import { ImageRepository, ReconcileRepository } from "../services/ImageRepository.js"
import { makeFindDuplicate } from "./DuplicatesSql.js"
import { makeImageStatements } from "./imageStatements.js"
import { makeReconcile } from "./ReconcileRepositorySql.js"
import { sqlDefectsAsFailures, sqlOperation } from "./rows.js"

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

  const {
    findImage,
    findImageWithWebhook,
    findRenditions,
    insertImage,
    listAwaiting,
    lockImage,
    recordRenditionCall,
    uploadImages
  } = makeImageStatements(sql)
  const findDuplicate = makeFindDuplicate(sql, findRenditions)

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

    // The fingerprint, when given, is set (a call without one leaves it).
    recordOriginal: (id, info) => {
      const sha256 = info.fingerprint?.sha256 ?? null
      const profile = info.fingerprint?.renderProfile ?? null
      return sql`
        UPDATE images
        SET original_format = ${info.format},
            original_content_type = ${info.contentType},
            original_width = ${info.width},
            original_height = ${info.height},
            sha256 = COALESCE(${sha256}::text, sha256),
            render_profile = COALESCE(${profile}::text, render_profile),
            updated_at = now()
        WHERE id = ${id}
          AND (original_format, original_content_type, original_width, original_height, sha256, render_profile)
              IS DISTINCT FROM (${info.format}::text, ${info.contentType}::text, ${info.width}::int, ${info.height}::int,
                                COALESCE(${sha256}::text, sha256), COALESCE(${profile}::text, render_profile))
      `.pipe(Effect.asVoid, run("recordOriginal"))
    },

    findDuplicate: (input) => findDuplicate(input).pipe(run("findDuplicate")),

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
        variants: output.variants ?? [],
        placeholder: output.placeholder ?? null,
        duplicateOf: output.duplicateOf ?? null,
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
    markRejected: (id, { code, message }, fingerprint) =>
      sql`
        UPDATE images
        SET status = 'failed', error_code = ${code}, error_message = ${message},
            sha256 = COALESCE(${fingerprint?.sha256 ?? null}::text, sha256),
            render_profile = COALESCE(${fingerprint?.renderProfile ?? null}::text, render_profile),
            updated_at = now()
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
