import type { SqlClient } from "@effect/sql"
import { SqlSchema } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, type ParseResult, Schema } from "effect"
import { REUSABLE_REJECTIONS } from "../domain/dedupe.js"
import type { ImageId } from "../domain/ids.js"
import type { RenditionRecord } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import type { DuplicateMatch } from "../services/ImageRepository.js"
import { ImageFromRow } from "./rows.js"

/**
 * `ImageRepository.findDuplicate` on PostgreSQL: one index range on
 * `images (sha256, render_profile, created_at)` (migration 0012) for the match, a ready one before
 * a refused one, earliest first; then the match's renditions when it is ready. Never an image copied
 * from `id` itself: a reprocessed original is made again, not copied back from its own copies.
 */
export const makeFindDuplicate = (
  sql: SqlClient.SqlClient,
  findRenditions: (id: ImageId) => Effect.Effect<ReadonlyArray<RenditionRecord>, SqlError | ParseResult.ParseError>
) => {
  const findMatch = SqlSchema.findOne({
    Request: Schema.Struct({ id: Schema.String, sha256: Schema.String, profile: Schema.String }),
    Result: ImageFromRow,
    execute: (input) =>
      sql`
      SELECT * FROM images
      WHERE sha256 = ${input.sha256} AND render_profile = ${input.profile} AND id <> ${input.id}::uuid
        AND duplicate_of IS DISTINCT FROM ${input.id}::uuid
        AND (status = 'ready' OR (status = 'failed' AND error_code = ANY(${REUSABLE_REJECTIONS}::text[])))
      ORDER BY status = 'ready' DESC, created_at, id
      LIMIT 1`
  })

  return (input: {
    readonly id: ImageId
    readonly sha256: string
    readonly profile: string
  }): Effect.Effect<Option.Option<DuplicateMatch>, SqlError | ParseResult.ParseError> =>
    Effect.gen(function* () {
      const found = yield* findMatch(input)
      if (Option.isNone(found)) return Option.none()
      const image = found.value
      if (isRejected(image)) {
        return Option.some<DuplicateMatch>({
          _tag: "Rejected",
          imageId: image.id,
          code: image.errorCode,
          message: image.errorMessage ?? "The image could not be processed."
        })
      }
      const renditions = yield* findRenditions(image.id)
      return Option.some<DuplicateMatch>({
        _tag: "Ready",
        image,
        renditions: renditions.filter((r) => r.status === "ready")
      })
    })
}
