/**
 * `bun run migrate`: applies the pending migrations, then exits.
 *
 * PostgreSQL at `DATABASE_URL` when it is set (the URL is read as `Redacted` and never printed),
 * else the embedded PGlite database in `${IMGPIPE_DATA_DIR}/db` (default `./.imgpipe/db`). The
 * embedded database must not be open in another process (`bun run start`): the data directory is
 * locked and this command fails fast if it is.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { DatabaseLive } from "./embedded.js"
import { runMigrations } from "./migrate.js"

const main = Effect.gen(function* () {
  const applied = yield* runMigrations
  if (applied.length === 0) {
    yield* Effect.logInfo("migrations: the database is up to date")
  } else {
    yield* Effect.logInfo(`migrations: applied ${applied.length}`).pipe(
      Effect.annotateLogs({ applied: applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`) })
    )
  }
})

main.pipe(Effect.provide(DatabaseLive), NodeRuntime.runMain)
