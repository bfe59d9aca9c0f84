import type { SqlClient, SqlError } from "@effect/sql"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Effect } from "effect"
import createImages from "./migrations/0001_create_images.js"
import createJobs from "./migrations/0002_create_jobs.js"
import indexExhaustedJobs from "./migrations/0003_index_exhausted_jobs.js"
import recordRenditionFunction from "./migrations/0004_record_rendition_function.js"
import tooLargeToDecode from "./migrations/0005_too_large_to_decode.js"

/** Where the migrator records what it applied. */
export const MIGRATIONS_TABLE = "imgpipe_migrations"

/**
 * The migrations, imported statically: a record survives bundling (Lambda, the Docker image),
 * where a glob or a directory read would not. Keys are `<id>_<name>`; add new files here.
 */
export const migrations = {
  "0001_create_images": createImages,
  "0002_create_jobs": createJobs,
  "0003_index_exhausted_jobs": indexExhaustedJobs,
  "0004_record_rendition_function": recordRenditionFunction,
  "0005_too_large_to_decode": tooLargeToDecode
} as const

/**
 * `PgMigrator.run` would also demand `FileSystem`, `Path` and `CommandExecutor` for its optional
 * `pg_dump` of the schema, which we never use; `make({})` is the same migrator without it, so
 * running migrations needs nothing but a `SqlClient`.
 */
const migrator = PgMigrator.make({})

/**
 * Applies the migrations not yet recorded, in one transaction under a table lock (a second
 * concurrent run waits, then finds nothing to do). Returns the `[id, name]` pairs applied.
 *
 * This is its own step (`bun run migrate`, the embedded runner's start-up, the test database):
 * never call it from a service constructor.
 */
export const runMigrations: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  PgMigrator.MigrationError | SqlError.SqlError,
  SqlClient.SqlClient
> = migrator({
  loader: PgMigrator.fromRecord(migrations),
  table: MIGRATIONS_TABLE
}).pipe(Effect.withSpan("runMigrations"))
