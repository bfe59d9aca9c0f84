import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The admin listing (`GET /admin/images?status=…`) pages through one status by id (UUIDv7, so in
 * creation order): with `(status, id)` each page is an index range scan, where a status filter over
 * the primary key would read every image of the other statuses first (the ready ones, nearly all).
 * The listing without a status walks the primary key itself.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX images_status_id_idx ON images (status, id)`
})
