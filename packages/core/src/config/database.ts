/** `DATABASE_URL`, read the two ways the runtimes need it. */
import { Config, Option, Redacted } from "effect"

/**
 * `DATABASE_URL`, when set to something non-empty (the embedded runner and the tools that fall back
 * to the embedded database). An empty value counts as unset so that a compose file or `.env` can
 * leave it blank to mean "embedded".
 */
export const databaseUrlConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("DATABASE_URL")
).pipe(Config.map(Option.filter((url) => Redacted.value(url).trim().length > 0)))

/** `DATABASE_URL` where a PostgreSQL server is the only choice (ECS, Lambda, the pool of `pgLayer`): required. */
export const requiredDatabaseUrlConfig: Config.Config<Redacted.Redacted<string>> = Config.redacted("DATABASE_URL")
