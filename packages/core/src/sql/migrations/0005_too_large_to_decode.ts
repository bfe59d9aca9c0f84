import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The rejection code `too_large_to_decode` (an image whose decode would need more memory than a
 * worker's whole decode budget) joins the error codes that images and renditions may record.
 */
const CODES = `'empty_file', 'not_an_image', 'unsupported_format', 'too_many_pixels', 'file_too_large',
  'corrupt_image', 'too_large_to_decode', 'processing_failed'`

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of ["images", "renditions"] as const) {
    yield* sql.unsafe(`
      ALTER TABLE ${table} DROP CONSTRAINT ${table}_error_code_check,
        ADD CONSTRAINT ${table}_error_code_check CHECK (error_code IN (${CODES}))
    `)
  }
})
