/**
 * PostgreSQL on RDS behind RDS Proxy, and the migrations as their own deploy step.
 */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { databaseEnvironment, databaseSecretPermission } from "./environment"
import { CONNECTIONS, stageSizing } from "./settings"

/** The migration Lambda's handler (the topology test checks that it exists). */
export const MIGRATE_HANDLER = "packages/infra/src/migrate.handler"

/**
 * Everything that decides what the migration step does: the migration files, the migrator, and
 * its Lambda handler. A change to any of them re-runs the step on the next deploy.
 */
const migrationSources = (root: string): ReadonlyArray<string> => {
  const dir = join(root, "packages/core/src/sql/migrations")
  return [
    ...readdirSync(dir)
      .filter((file) => file.endsWith(".ts"))
      .sort()
      .map((file) => join(dir, file)),
    join(root, "packages/core/src/sql/migrate.ts"),
    join(root, "packages/infra/src/migrate.ts")
  ]
}

const migrationsHash = (root: string) => {
  const hash = createHash("sha256")
  for (const file of migrationSources(root)) hash.update(file.slice(root.length)).update(readFileSync(file))
  return hash.digest("hex")
}

/**
 * What SST's Postgres does not let a stage choose (it always allocates 20 GB and uses `storage` only
 * as autoscaling's ceiling; 7-day backups; no final snapshot): set on the RDS instance's arguments.
 */
export const databaseInstanceSettings = (
  args: {
    -readonly [
      K in
        | "allocatedStorage"
        | "backupRetentionPeriod"
        | "deletionProtection"
        | "skipFinalSnapshot"
        | "finalSnapshotIdentifier"
        | "deleteAutomatedBackups"
        | "copyTagsToSnapshot"
    ]?: unknown
  },
  database: ReturnType<typeof stageSizing>["database"]
) => {
  // gp3's baseline: 3,000 IOPS below 400 GiB, 12,000 from 400 GiB (docs/deploy.md).
  args.allocatedStorage = database.allocatedGib
  args.backupRetentionPeriod = database.backupRetentionDays
  if (database.protect) {
    // prod's `removal: "retain"` keeps the instance on a removal or replacement already; these
    // guard a deletion outside SST (console, CLI): no delete without turning protection off, and a
    // final snapshot plus the automated backups kept if it happens anyway.
    args.deletionProtection = true
    args.skipFinalSnapshot = false
    args.finalSnapshotIdentifier = `${$app.name}-${$app.stage}-final`
    args.deleteAutomatedBackups = false
    args.copyTagsToSnapshot = true
  }
}

export function database(vpc: sst.aws.Vpc) {
  const sizing = stageSizing($app.stage)

  // SST's Postgres creates the proxy's target group without a transform of its own: set the pool
  // limit the connection budget counts on (settings.ts CONNECTIONS) on every target group.
  $transform(aws.rds.ProxyDefaultTargetGroup, (args) => {
    args.connectionPoolConfig = { maxConnectionsPercent: CONNECTIONS.proxyMaxConnectionsPercent }
  })

  const postgres = new sst.aws.Postgres("Database", {
    vpc,
    // Explicit, so an SST upgrade that moves the default never upgrades the engine by surprise.
    version: "17",
    instance: sizing.database.instance,
    storage: sizing.database.storage,
    multiAz: sizing.database.multiAz,
    // Every Lambda instance opens its own connection; at a few hundred concurrent instances that
    // would exhaust `max_connections`. The proxy multiplexes them onto a bounded pool.
    proxy: true,
    transform: {
      // Clients must use TLS (DATABASE_URL says `sslmode=verify-full`; the proxy's certificate is
      // issued by ACM, which Node.js trusts without an extra CA bundle).
      proxy: { requireTls: true },
      instance: (args) => {
        databaseInstanceSettings(args, sizing.database)
        return undefined
      }
    }
  })

  // The password reaches no environment variable. SST's Postgres keeps it in a Secrets Manager
  // secret, `{ "username", "password" }` JSON, which RDS Proxy logs in with; SST tags the instance
  // with that secret's ARN (`sst:lookup:password`, what its own `sst.aws.Postgres.get` reads). The
  // runtimes get its ARN and read the password once at cold start (core's databaseSecret.ts).
  const instance = postgres.nodes.instance
  if (instance === undefined) throw new Error("sst.aws.Postgres created no instance (is its `dev` mode on?)")
  const databaseSecretArn = instance.tags.apply((tags) => {
    const arn = tags?.["sst:lookup:password"]
    if (arn === undefined || arn.length === 0) {
      throw new Error(
        "sst.aws.Postgres no longer tags its instance with `sst:lookup:password` (its secret's ARN): " +
          "find the secret in .sst/platform/src/components/aws/postgres.ts after the SST upgrade"
      )
    }
    return arn
  })

  // `host` is the proxy's endpoint when the proxy is on. No password: see above. The parts are
  // encoded anyway, in case a user or database name set by hand has special characters.
  const databaseUrl = $resolve({
    user: postgres.username,
    host: postgres.host,
    port: postgres.port,
    name: postgres.database
  }).apply(
    ({ user, host, port, name }) =>
      `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(name)}?sslmode=verify-full`
  )

  // Migrations never run in the API's start-up (two tasks starting together would race, and a
  // slow migration would fail health checks). They run here, once per deploy that changes them,
  // from inside the VPC, before anything that depends on `migration` is updated.
  const migrate = new sst.aws.Function("Migrate", {
    handler: MIGRATE_HANDLER,
    runtime: "nodejs22.x",
    architecture: "x86_64",
    vpc,
    environment: databaseEnvironment({ databaseUrl, databaseSecretArn }),
    permissions: [databaseSecretPermission(databaseSecretArn)],
    memory: "512 MB",
    // Migrations take a table lock and may rewrite a table; the step must not be cut off early.
    timeout: "10 minutes",
    // Deployed for real under `sst dev` too: the invocation happens during the deploy, before a
    // Live session exists to answer a stub.
    dev: false
  })

  const migration = new aws.lambda.Invocation("MigrateOnDeploy", {
    functionName: migrate.name,
    input: JSON.stringify({ reason: "deploy" }),
    // Invoked on creation and again whenever a trigger changes: new migrations, or a new database
    // (a replaced instance starts empty). The migrator is idempotent, so a re-run is harmless.
    // A failed migration fails the deploy, and what depends on `migration` is not rolled out.
    triggers: {
      migrations: migrationsHash($cli.paths.root),
      database: postgres.id
    }
  })

  return { postgres, databaseUrl, databaseSecretArn, migrate, migration }
}
