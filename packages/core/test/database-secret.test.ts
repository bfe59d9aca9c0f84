/**
 * The client layer with `IMGPIPE_DATABASE_SECRET_ARN`: the password comes from a Secrets Manager
 * secret (here a tiny HTTP server that speaks `GetSecretValue`'s JSON protocol, pointed at with
 * `AWS_ENDPOINT_URL` like the S3/SQS emulator), read once when the layer is built, handed to the
 * pool, and the pool really connects. The database is `TEST_DATABASE_URL` (PostgreSQL, trust
 * auth) or the embedded PGlite's socket server; neither checks passwords, so the test reads the
 * password the pool was given from the client's config.
 */
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer, Redacted, TestClock } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { pgLayer } from "../src/sql/client.js"
import { DatabaseSecretError, passwordOfSecret, SECRET_READ_TIMEOUT } from "../src/sql/databaseSecret.js"
import { type PgliteServer, testServerUrl } from "./support/pglite-server.js"

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:DatabaseProxySecret-a1b2c3"
const NO_PASSWORD_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:NoPassword-d4e5f6"
const MISSING_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:Missing-000000"
/** Characters a URL's user-info cannot hold as they are. */
const PASSWORD = "s3cr:et/p@ss word%"

// ---- a Secrets Manager that knows two secrets -------------------------------------------------

const secrets: Record<string, string> = {
  [ARN]: JSON.stringify({ username: "postgres", password: PASSWORD }),
  [NO_PASSWORD_ARN]: JSON.stringify({ username: "postgres", passwd: "hunter2" })
}
const requests: Array<{ readonly target: string; readonly secretId: unknown; readonly authorized: boolean }> = []

const secretsManager: Server = createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")
    const secretId = body !== null && typeof body === "object" && "SecretId" in body ? body.SecretId : undefined
    const target = String(request.headers["x-amz-target"])
    requests.push({
      target,
      secretId,
      authorized: String(request.headers.authorization).startsWith("AWS4-HMAC-SHA256")
    })
    const reply = (status: number, payload: object) => {
      response.writeHead(status, { "content-type": "application/x-amz-json-1.1" })
      response.end(JSON.stringify(payload))
    }
    const secret = typeof secretId === "string" ? secrets[secretId] : undefined
    if (target !== "secretsmanager.GetSecretValue") {
      reply(400, { __type: "UnknownOperationException", message: target })
    } else if (secret === undefined) {
      reply(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." })
    } else {
      reply(200, { ARN: secretId, Name: "DatabaseProxySecret", VersionId: "v1", SecretString: secret, CreatedDate: 1 })
    }
  })
})

// ---- a database that takes any password ------------------------------------------------------

/** A Secrets Manager nobody can reach: it accepts the connection and never answers. */
const unreachable: Server = createServer(() => {})

/** `postgres://postgres@…` without a password, as infra hands it out. */
let database: PgliteServer | undefined

beforeAll(async () => {
  await new Promise<void>((resolve) => secretsManager.listen(0, "127.0.0.1", resolve))
  await new Promise<void>((resolve) => unreachable.listen(0, "127.0.0.1", resolve))
  database = await testServerUrl()
})

afterAll(async () => {
  await new Promise<void>((resolve) => secretsManager.close(() => resolve()))
  unreachable.closeAllConnections()
  await new Promise<void>((resolve) => unreachable.close(() => resolve()))
  await database?.stop()
})

const environment = (extra: Record<string, string>, endpoint: Server = secretsManager) => {
  const { port } = endpoint.address() as AddressInfo
  return Layer.setConfigProvider(
    ConfigProvider.fromMap(
      new Map(
        Object.entries({
          DATABASE_URL: database?.url ?? "",
          AWS_REGION: "us-east-1",
          AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: "imgpipe-test",
          AWS_SECRET_ACCESS_KEY: "imgpipe-test-secret",
          ...extra
        })
      )
    )
  )
}

/** What the pool was configured with, and a query through it. */
const connectAndQuery = Effect.gen(function* () {
  const client = yield* PgClient.PgClient
  const rows = yield* client<{ readonly answer: number }>`SELECT 41 + 1 AS answer`
  const again = yield* client<{ readonly answer: number }>`SELECT 2 AS answer`
  return {
    password: client.config.password === undefined ? undefined : Redacted.value(client.config.password),
    url: client.config.url,
    answers: [rows[0]?.answer, again[0]?.answer]
  }
})

describe("pgLayer with IMGPIPE_DATABASE_SECRET_ARN", () => {
  it.effect("reads the password once from the secret, hands it to the pool, and connects", () =>
    Effect.gen(function* () {
      requests.length = 0
      const result = yield* connectAndQuery.pipe(
        Effect.provide(
          pgLayer({ maxConnections: 1 }).pipe(Layer.provide(environment({ IMGPIPE_DATABASE_SECRET_ARN: ARN })))
        )
      )
      expect(result.password).toBe(PASSWORD)
      expect(result.answers).toEqual([42, 2])
      // One read per layer build (a cold start), not per query; signed with the role's keys.
      expect(requests).toEqual([{ target: "secretsmanager.GetSecretValue", secretId: ARN, authorized: true }])
      // Redacted on the way: printing the URL the pool got shows no password.
      expect(String(result.url)).not.toContain("s3cr")
      expect(JSON.stringify(result.url)).not.toContain("s3cr")
    }))

  it.effect("without the ARN uses DATABASE_URL as it is and asks Secrets Manager nothing", () =>
    Effect.gen(function* () {
      requests.length = 0
      const result = yield* connectAndQuery.pipe(Effect.provide(pgLayer().pipe(Layer.provide(environment({})))))
      expect(result.password).toBeUndefined()
      expect(result.answers).toEqual([42, 2])
      expect(requests).toEqual([])
    }))

  it.effect("fails with DatabaseSecretError naming the secret when it cannot be read", () =>
    Effect.gen(function* () {
      const exit = yield* connectAndQuery.pipe(
        Effect.provide(pgLayer().pipe(Layer.provide(environment({ IMGPIPE_DATABASE_SECRET_ARN: MISSING_ARN })))),
        Effect.exit
      )
      expect(exit).toEqual(Exit.fail(expect.any(DatabaseSecretError)))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error).toBeInstanceOf(DatabaseSecretError)
      if (!(error instanceof DatabaseSecretError)) return
      expect(error.secretArn).toBe(MISSING_ARN)
      expect(error.message).toMatch(
        /^cannot read the database password from the secret arn:aws:secretsmanager:.*Missing-000000 \(IMGPIPE_DATABASE_SECRET_ARN\): ResourceNotFoundException/
      )
    }))

  it.effect("fails with DatabaseSecretError when the secret has no password, without quoting it", () =>
    Effect.gen(function* () {
      const error = yield* connectAndQuery.pipe(
        Effect.provide(pgLayer().pipe(Layer.provide(environment({ IMGPIPE_DATABASE_SECRET_ARN: NO_PASSWORD_ARN })))),
        Effect.flip
      )
      expect(error).toBeInstanceOf(DatabaseSecretError)
      expect(error.message).toContain("holds no database password: its JSON has no \"password\" field")
      expect(error.message).not.toContain("hunter2")
    }))
})

describe("pgLayer when Secrets Manager does not answer", () => {
  it.effect("gives up after SECRET_READ_TIMEOUT with DatabaseSecretError instead of hanging", () =>
    Effect.gen(function* () {
      const fiber = yield* connectAndQuery.pipe(
        Effect.provide(pgLayer().pipe(Layer.provide(environment({ IMGPIPE_DATABASE_SECRET_ARN: ARN }, unreachable)))),
        Effect.flip,
        Effect.fork
      )
      // Let the request reach the server, then move the clock past the limit.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
      yield* TestClock.adjust(SECRET_READ_TIMEOUT)
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(DatabaseSecretError)
      expect(error.message).toMatch(
        /no answer from Secrets Manager within 10s \(is there a route to it: a NAT or a VPC endpoint\?\)$/
      )
    }))
})

describe("passwordOfSecret", () => {
  it("takes the password from the JSON and says why there is none otherwise", () => {
    const value = (secret: string | undefined) => {
      const result = passwordOfSecret(secret)
      return result._tag === "Right" ? { password: Redacted.value(result.right) } : { reason: result.left }
    }
    expect(value("{\"username\":\"u\",\"password\":\"p\"}")).toEqual({ password: "p" })
    expect(value(undefined)).toEqual({ reason: "it has no SecretString (a binary secret?)" })
    expect(value("p4ssw0rd")).toEqual({ reason: "its SecretString is not JSON" })
    expect(value("{\"password\":\"\"}")).toEqual({ reason: "its \"password\" is not a non-empty string" })
    expect(value("{\"password\":7}")).toEqual({ reason: "its \"password\" is not a non-empty string" })
  })
})
