/**
 * The migration step of a deploy: a Lambda in the VPC that `sst deploy` invokes once (see
 * packages/infra/database.ts), the AWS counterpart of `bun run migrate`.
 *
 * It builds the PostgreSQL client itself instead of taking `DatabaseLive` from core: that layer
 * also carries the embedded PGlite fallback, which a Lambda bundle has no use for.
 *
 * On a first deploy it may run before RDS Proxy has registered the new instance as its target: it
 * then retries connecting for `IMGPIPE_MIGRATE_WAIT_SECONDS` (default 180, well inside the
 * function's timeout), logging what it waits for, and fails with the last error after that.
 */
import { requiredDatabaseUrlConfig } from "@imgpipe/core/config/database"
import { pgLayer } from "@imgpipe/core/sql/client"
import {
  databaseTarget,
  MIGRATE_CONNECT_TIMEOUT,
  migrateWaitConfig,
  migrateWhenReachable
} from "@imgpipe/core/sql/migrate"
import { Effect } from "effect"

export interface MigrateResult {
  readonly applied: ReadonlyArray<string>
}

/** One connection through RDS Proxy is all a migration needs. */
const DatabaseLive = pgLayer({ maxConnections: 1, connectTimeout: MIGRATE_CONNECT_TIMEOUT })

const program = Effect.gen(function* () {
  const target = databaseTarget(yield* requiredDatabaseUrlConfig)
  const maxWait = yield* migrateWaitConfig
  return yield* migrateWhenReachable(DatabaseLive, { target, maxWait })
}).pipe(
  Effect.map((applied) => ({ applied: applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`) })),
  Effect.tap(({ applied }) =>
    Effect.logInfo(applied.length === 0 ? "migrations: the database is up to date" : "migrations: applied").pipe(
      Effect.annotateLogs({ applied })
    )
  )
)

/**
 * Resolves with what was applied; rejects on any failure, which makes Lambda report a function
 * error, the `aws.lambda.Invocation` fail, and so the deploy stop before the new code rolls out.
 */
export const handler = (): Promise<MigrateResult> => Effect.runPromise(program)
