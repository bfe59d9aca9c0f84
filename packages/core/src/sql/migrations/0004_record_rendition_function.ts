import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * `imgpipe_record_rendition`: what `ImageRepository.recordRendition` does, as one call. It was a
 * transaction of five statements (lock the image row, upsert the rendition, decide the image's
 * status, read it back, commit), i.e. six round trips holding a connection; on the embedded
 * database's one connection every request waited behind it, and for longer the busier the
 * process was. The function runs the same statements in the same order inside the server: the row
 * lock first, then each statement with a fresh snapshot (a VOLATILE PL/pgSQL function in READ
 * COMMITTED sees what other transactions committed before each of its statements), so the last of
 * three sizes finishing at once still sees the other two. Returns the image row, or no row when
 * there is no such image.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`
    CREATE FUNCTION imgpipe_record_rendition(
      p_image_id uuid, p_size text, p_key text, p_width integer, p_height integer, p_bytes bigint,
      p_content_type text, p_required text[]
    ) RETURNS SETOF images
    LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
      PERFORM 1 FROM images WHERE id = p_image_id FOR UPDATE;
      IF NOT FOUND THEN
        RETURN;
      END IF;

      INSERT INTO renditions (image_id, size, status, key, width, height, bytes, content_type)
      VALUES (p_image_id, p_size, 'ready', p_key, p_width, p_height, p_bytes, p_content_type)
      ON CONFLICT (image_id, size) DO UPDATE
      SET status = 'ready', key = EXCLUDED.key, width = EXCLUDED.width, height = EXCLUDED.height,
          bytes = EXCLUDED.bytes, content_type = EXCLUDED.content_type,
          error_code = NULL, error_message = NULL, updated_at = now()
      WHERE (renditions.status, renditions.key, renditions.width, renditions.height,
             renditions.bytes, renditions.content_type, renditions.error_code)
            IS DISTINCT FROM ('ready', EXCLUDED.key, EXCLUDED.width, EXCLUDED.height,
                              EXCLUDED.bytes, EXCLUDED.content_type, NULL);

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
