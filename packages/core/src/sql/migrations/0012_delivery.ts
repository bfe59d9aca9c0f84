import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Delivery (issue 13):
 * - `images.sha256` (hex of the original's bytes) and `images.render_profile` (`renderProfile`,
 *   domain/dedupe.ts: the sizes, formats, encoder version and pixel limit the renditions were made
 *   with), indexed together for the duplicate lookup (`findDuplicate`);
 * - `images.duplicate_of`: the earlier image whose renditions were copied;
 * - `images.placeholder` (jsonb `{ thumbhash, dominantColor, width, height }`), set by the small
 *   size's job;
 * - `renditions.variants` (jsonb array of `{ format, key, bytes, contentType }`): the extra
 *   encodings stored beside the baseline;
 * - `imgpipe_record_rendition` (0004) replaced by a version that also records the variants, the
 *   placeholder and `duplicate_of` in the same call (same lock, same guards: a repeat that changes
 *   nothing touches nothing, `updated_at` included).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    ALTER TABLE images
      ADD COLUMN sha256 text CONSTRAINT images_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      ADD COLUMN render_profile text,
      ADD COLUMN duplicate_of uuid REFERENCES images (id) ON DELETE SET NULL,
      ADD COLUMN placeholder jsonb CONSTRAINT images_placeholder_check CHECK (jsonb_typeof(placeholder) = 'object')
  `)
  yield* sql.unsafe(
    `CREATE INDEX images_sha256_profile_idx ON images (sha256, render_profile, created_at) WHERE sha256 IS NOT NULL`
  )
  yield* sql.unsafe(`
    ALTER TABLE renditions ADD COLUMN variants jsonb NOT NULL DEFAULT '[]'
      CONSTRAINT renditions_variants_check CHECK (jsonb_typeof(variants) = 'array')
  `)
  yield* sql.unsafe(
    `DROP FUNCTION imgpipe_record_rendition(uuid, text, text, integer, integer, bigint, text, text[])`
  )
  yield* sql.unsafe(`
    CREATE FUNCTION imgpipe_record_rendition(
      p_image_id uuid, p_size text, p_key text, p_width integer, p_height integer, p_bytes bigint,
      p_content_type text, p_variants jsonb, p_placeholder jsonb, p_duplicate_of uuid, p_required text[]
    ) RETURNS SETOF images
    LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
      PERFORM 1 FROM images WHERE id = p_image_id FOR UPDATE;
      IF NOT FOUND THEN
        RETURN;
      END IF;

      INSERT INTO renditions (image_id, size, status, key, width, height, bytes, content_type, variants)
      VALUES (p_image_id, p_size, 'ready', p_key, p_width, p_height, p_bytes, p_content_type, p_variants)
      ON CONFLICT (image_id, size) DO UPDATE
      SET status = 'ready', key = EXCLUDED.key, width = EXCLUDED.width, height = EXCLUDED.height,
          bytes = EXCLUDED.bytes, content_type = EXCLUDED.content_type, variants = EXCLUDED.variants,
          error_code = NULL, error_message = NULL, updated_at = now()
      WHERE (renditions.status, renditions.key, renditions.width, renditions.height,
             renditions.bytes, renditions.content_type, renditions.variants, renditions.error_code)
            IS DISTINCT FROM ('ready', EXCLUDED.key, EXCLUDED.width, EXCLUDED.height,
                              EXCLUDED.bytes, EXCLUDED.content_type, EXCLUDED.variants, NULL);

      -- The placeholder (small size) and the image copied from, when given; absent ones leave
      -- what is there.
      UPDATE images
      SET placeholder = COALESCE(p_placeholder, placeholder),
          duplicate_of = COALESCE(p_duplicate_of, duplicate_of),
          updated_at = now()
      WHERE id = p_image_id
        AND (p_placeholder IS NOT NULL OR p_duplicate_of IS NOT NULL)
        AND (placeholder, duplicate_of)
            IS DISTINCT FROM (COALESCE(p_placeholder, placeholder), COALESCE(p_duplicate_of, duplicate_of));

      -- Ready once every required size is; never over a rejection (a dead-lettered size,
      -- processing_failed, is cleared by the rendition that finally succeeds).
      UPDATE images
      SET status = 'ready', error_code = NULL, error_message = NULL, updated_at = now()
      WHERE id = p_image_id
        AND status <> 'ready'
        AND NOT (status = 'failed' AND error_code IS DISTINCT FROM 'processing_failed')
        AND (SELECT count(*) FROM renditions
             WHERE image_id = p_image_id AND status = 'ready' AND size = ANY(p_required))
            = cardinality(p_required);

      RETURN QUERY SELECT * FROM images WHERE id = p_image_id;
    END
    $fn$
  `)
})
