/**
 * The database password from AWS Secrets Manager, so that no environment variable carries it.
 *
 * In AWS every runtime gets a `DATABASE_URL` without a password (user, RDS Proxy host, port,
 * database, `sslmode`) and `IMGPIPE_DATABASE_SECRET_ARN`: the secret SST's Postgres keeps for RDS
 * Proxy, JSON `{ "username": …, "password": … }`. The client layer (client.ts) reads it once, when
 * the layer is built (a Lambda's cold start, an ECS task's start), and puts the password into the
 * URL it hands the pool; it stays `Redacted` from the response to the pool and is never logged.
 *
 * Without `IMGPIPE_DATABASE_SECRET_ARN` nothing is read and `DATABASE_URL` is used as it is (the
 * embedded runner, tests, `aws-local`).
 */
import { SecretsManagerService } from "@effect-aws/client-secrets-manager"
import { Config, type ConfigError, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { awsClientConfig, clientOptions, describeAwsError } from "../aws/config.js"
import { requiredDatabaseUrlConfig } from "../config/database.js"

/**
 * The password could not be had: the secret is unreadable (missing, access denied, no network),
 * or it holds no `password`, or `DATABASE_URL` has no place to put it. `secretArn` names the
 * secret (an ARN is not secret); the message never quotes the secret's content.
 */
export class DatabaseSecretError extends Schema.TaggedError<DatabaseSecretError>()("DatabaseSecretError", {
  secretArn: Schema.String,
  message: Schema.String
}) {}

/** `IMGPIPE_DATABASE_SECRET_ARN`, when set to something non-empty. */
export const databaseSecretArnConfig: Config.Config<Option.Option<string>> = Config.option(
  Config.string("IMGPIPE_DATABASE_SECRET_ARN")
).pipe(Config.map((arn) => Option.filter(Option.map(arn, (value) => value.trim()), (value) => value.length > 0)))

/** The `password` of a secret's JSON, or why there is none (without quoting the content). */
export const passwordOfSecret = (
  secretString: string | undefined
): Either.Either<Redacted.Redacted<string>, string> => {
  if (secretString === undefined) return Either.left("it has no SecretString (a binary secret?)")
  let parsed: unknown
  try {
    parsed = JSON.parse(secretString)
  } catch {
    return Either.left("its SecretString is not JSON")
  }
  if (parsed === null || typeof parsed !== "object" || !("password" in parsed)) {
    return Either.left("its JSON has no \"password\" field")
  }
  const password = parsed.password
  if (typeof password !== "string" || password.length === 0) {
    return Either.left("its \"password\" is not a non-empty string")
  }
  return Either.right(Redacted.make(password))
}

/**
 * How long reading the secret may take, retries included. Without a route to Secrets Manager (no
 * NAT, no interface endpoint) the SDK would wait for the function's whole timeout.
 */
export const SECRET_READ_TIMEOUT = Duration.seconds(10)

/**
 * Reads the secret once with the AWS SDK (region, endpoint and keys as for S3 and SQS:
 * `AWS_REGION`, `AWS_ENDPOINT_URL`, the role's credentials) and returns its `password`.
 */
export const readDatabasePassword = (
  secretArn: string
): Effect.Effect<Redacted.Redacted<string>, DatabaseSecretError | ConfigError.ConfigError> =>
  SecretsManagerService.getSecretValue({ SecretId: secretArn }).pipe(
    Effect.mapError((cause) =>
      new DatabaseSecretError({
        secretArn,
        message: `cannot read the database password from the secret ${secretArn} (IMGPIPE_DATABASE_SECRET_ARN): ${
          describeAwsError(cause)
        }`
      })
    ),
    Effect.flatMap((response) =>
      Either.match(passwordOfSecret(response.SecretString), {
        onLeft: (reason) =>
          Effect.fail(
            new DatabaseSecretError({
              secretArn,
              message: `the secret ${secretArn} (IMGPIPE_DATABASE_SECRET_ARN) holds no database password: ${reason}`
            })
          ),
        onRight: Effect.succeed
      })
    ),
    // A client for this one read, closed when it is done.
    Effect.provide(
      Layer.unwrapEffect(Effect.map(awsClientConfig, (config) => SecretsManagerService.layer(clientOptions(config))))
    ),
    Effect.timeoutFail({
      duration: SECRET_READ_TIMEOUT,
      onTimeout: () =>
        new DatabaseSecretError({
          secretArn,
          message: `cannot read the database password from the secret ${secretArn} (IMGPIPE_DATABASE_SECRET_ARN): ` +
            `no answer from Secrets Manager within ${
              Duration.format(SECRET_READ_TIMEOUT)
            } (is there a route to it: a NAT or a VPC endpoint?)`
        })
    }),
    Effect.withSpan("readDatabasePassword", { attributes: { secretArn } })
  )

/**
 * `url` with `password` in its user-info part, still `Redacted`. The password replaces any the
 * URL had. Fails when the URL cannot be parsed (it would not connect either).
 */
export const withPassword = (
  url: Redacted.Redacted<string>,
  password: Redacted.Redacted<string>,
  secretArn: string
): Effect.Effect<Redacted.Redacted<string>, DatabaseSecretError> =>
  Effect.try({
    try: () => {
      const parsed = new URL(Redacted.value(url))
      // Encoded whole: the setter alone leaves `%` as it is, and pg's decoding would then turn a
      // password with `%` in it into another one. pg decodes this back to the secret's password.
      parsed.password = encodeURIComponent(Redacted.value(password))
      return Redacted.make(parsed.toString())
    },
    catch: () =>
      new DatabaseSecretError({
        secretArn,
        message: "DATABASE_URL is not a URL, so the password from IMGPIPE_DATABASE_SECRET_ARN has no place in it"
      })
  })

/**
 * The connection string for the pool: `DATABASE_URL`, with the password from
 * `IMGPIPE_DATABASE_SECRET_ARN` put in when that is set.
 */
export const databaseUrlWithSecret: Effect.Effect<
  Redacted.Redacted<string>,
  DatabaseSecretError | ConfigError.ConfigError
> = Effect.gen(function* () {
  const url = yield* requiredDatabaseUrlConfig
  const secretArn = yield* databaseSecretArnConfig
  if (Option.isNone(secretArn)) return url
  const password = yield* readDatabasePassword(secretArn.value)
  return yield* withPassword(url, password, secretArn.value)
})
