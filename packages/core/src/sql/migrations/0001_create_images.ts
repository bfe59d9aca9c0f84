import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Images and their renditions.
 *
 * The enum-ish columns carry CHECK constraints that mirror the domain literals
 * (`domain/image.ts`, `domain/errors.ts`, `domain/sizes.ts`), so a row the decoder would refuse
 * cannot be written in the first place. Byte counts are `bigint` (the repository decodes them
 * to numbers): objects may exceed the 2 GiB of an `integer` if the limits are ever raised.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE images (
      id uuid PRIMARY KEY,
      status text NOT NULL DEFAULT 'awaiting_upload'
        CONSTRAINT images_status_check
        CHECK (status IN ('awaiting_upload', 'processing', 'ready', 'failed')),
      declared_content_type text NOT NULL,
      declared_bytes bigint NOT NULL CONSTRAINT images_declared_bytes_check CHECK (declared_bytes >= 0),
      upload_expires_at timestamptz NOT NULL,
      original_bytes bigint CONSTRAINT images_original_bytes_check CHECK (original_bytes >= 0),
      original_content_type text,
      original_format text,
      original_width integer CONSTRAINT images_original_width_check CHECK (original_width > 0),
      original_height integer CONSTRAINT images_original_height_check CHECK (original_height > 0),
      original_stored boolean NOT NULL DEFAULT true,
      error_code text
        CONSTRAINT images_error_code_check
        CHECK (error_code IN ('empty_file', 'not_an_image', 'unsupported_format', 'too_many_pixels',
                              'file_too_large', 'corrupt_image', 'processing_failed')),
      error_message text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- A failed image always says why; other states carry no error.
      CONSTRAINT images_error_check CHECK ((status = 'failed') = (error_code IS NOT NULL))
    )
  `

  // The sweeper that finds uploads whose notification was lost reads only this slice.
  yield* sql`
    CREATE INDEX images_awaiting_upload_idx ON images (created_at) WHERE status = 'awaiting_upload'
  `

  yield* sql`
    CREATE TABLE renditions (
      image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      size text NOT NULL CONSTRAINT renditions_size_check CHECK (size IN ('small', 'medium', 'large')),
      status text NOT NULL
        CONSTRAINT renditions_status_check CHECK (status IN ('pending', 'ready', 'failed')),
      key text,
      width integer CONSTRAINT renditions_width_check CHECK (width > 0),
      height integer CONSTRAINT renditions_height_check CHECK (height > 0),
      bytes bigint CONSTRAINT renditions_bytes_check CHECK (bytes >= 0),
      content_type text,
      error_code text
        CONSTRAINT renditions_error_code_check
        CHECK (error_code IN ('empty_file', 'not_an_image', 'unsupported_format', 'too_many_pixels',
                              'file_too_large', 'corrupt_image', 'processing_failed')),
      error_message text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (image_id, size),
      -- A ready rendition always says where it is and what it is.
      CONSTRAINT renditions_ready_check CHECK (
        status <> 'ready'
        OR (key IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL
            AND bytes IS NOT NULL AND content_type IS NOT NULL)
      ),
      CONSTRAINT renditions_failed_check CHECK ((status = 'failed') = (error_code IS NOT NULL))
    )
  `
})
