/**
 * The migration step of a deploy: a Lambda in the VPC that `sst deploy` invokes once (see
 * packages/infra/database.ts), the AWS counterpart of `bun run migrate`.
 *
 * It builds the PostgreSQL client itself instead of taking `DatabaseLive` from core: that layer
 * also carries the embedded PGlite fallback, which a Lambda bundle has no use for.
 */
import { PgClient } from "@effect/sql-pg"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { Config, Effect } from "effect"

export interface MigrateResult {
  readonly applied: ReadonlyArray<string>
}

/** One connection through RDS Proxy is all a migration needs. */
const DatabaseLive = PgClient.layerConfig({
  url: Config.redacted("DATABASE_URL"),
  maxConnections: Config.succeed(1)
})

const program = runMigrations.pipe(
  Effect.map((applied) => ({ applied: applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`) })),
  Effect.tap(({ applied }) =>
    Effect.logInfo(applied.length === 0 ? "migrations: the database is up to date" : "migrations: applied").pipe(
      Effect.annotateLogs({ applied })
    )
  ),
  Effect.provide(DatabaseLive)
)

/**
 * Resolves with what was applied; rejects on any failure, which makes Lambda report a function
 * error, the `aws.lambda.Invocation` fail, and so the deploy stop before the new code rolls out.
 */
export const handler = (): Promise<MigrateResult> => Effect.runPromise(program)
