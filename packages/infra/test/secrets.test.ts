/**
 * The database password reaches no environment variable (issue 10, "Secrets in plain sight"):
 * every runtime that talks to PostgreSQL gets a `DATABASE_URL` without a password plus the ARN of
 * the secret SST's Postgres keeps it in, and may read exactly that secret.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { arr, at, evaluate, type Evaluation, obj, str, WITH_DOMAINS } from "./support/evaluate.js"
import { ACCOUNT, POSTGRES_SECRET_NAME, type Recorded, REGION } from "./support/sst-fakes.js"

const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${POSTGRES_SECRET_NAME}`
/** What the fake Postgres answers for `password` (sst-fakes.ts). */
const PASSWORD = "generated-password"

const environmentOf = (runtime: Recorded): Record<string, unknown> => ({
  ...obj(runtime.args.environment ?? {}),
  ...obj(runtime.args.ssm ?? {})
})

const statements = (runtime: Recorded) => arr(runtime.args.permissions ?? []).map(obj)

/** Every string anywhere in a recorded value. */
const strings = (value: unknown): ReadonlyArray<string> =>
  typeof value === "string"
    ? [value]
    : Array.isArray(value)
    ? value.flatMap(strings)
    : value !== null && typeof value === "object"
    ? Object.values(value).flatMap(strings)
    : []

describe.each(
  [
    ["test", {}],
    ["prod", { settings: WITH_DOMAINS }]
  ] as const
)("database credentials, stage %s", (stage, options) => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate(stage, options)
  })

  const runtimes = () => [...e.recorder.ofKind("sst.aws.Function"), ...e.recorder.ofKind("sst.aws.Service")]
  const databaseUsers = () => runtimes().filter((r) => "DATABASE_URL" in environmentOf(r))

  it("gives every database user the URL without a password, and the secret's ARN", () => {
    const users = databaseUsers().map((r) => r.name)
    // The migration step, the API, and the functions all reach PostgreSQL.
    expect(users).toEqual(expect.arrayContaining(["Migrate", "Api", "StartProcessing", "ProcessImageSmall"]))
    for (const runtime of databaseUsers()) {
      const env = environmentOf(runtime)
      const url = new URL(str(env.DATABASE_URL))
      expect(url.username, runtime.name).toBe("postgres")
      expect(url.password, `${runtime.name}: DATABASE_URL carries a password`).toBe("")
      expect(url.searchParams.get("sslmode"), runtime.name).toBe("verify-full")
      expect(env.IMGPIPE_DATABASE_SECRET_ARN, runtime.name).toBe(SECRET_ARN)
    }
  })

  it("lets each database user read exactly that secret, and nothing else of Secrets Manager", () => {
    for (const runtime of runtimes()) {
      const secretStatements = statements(runtime).filter((s) =>
        arr(s.actions).some((a) => str(a).startsWith("secretsmanager:"))
      )
      if (!("DATABASE_URL" in environmentOf(runtime))) {
        expect(secretStatements, runtime.name).toEqual([])
        continue
      }
      expect(secretStatements, runtime.name).toEqual([
        { actions: ["secretsmanager:GetSecretValue"], resources: [SECRET_ARN] }
      ])
    }
  })

  it("puts the password in no environment variable, task definition or SSM parameter", () => {
    for (const runtime of runtimes()) {
      expect(strings(environmentOf(runtime)).filter((v) => v.includes(PASSWORD)), runtime.name).toEqual([])
    }
    for (const parameter of e.recorder.ofKind("aws.ssm.Parameter")) {
      expect(strings(parameter.args).filter((v) => v.includes(PASSWORD)), parameter.name).toEqual([])
    }
    // The API's SSM secrets are its keys and the webhook secret: the URL is no secret any more.
    const api = e.recorder.named("sst.aws.Service", "Api")
    expect(Object.keys(obj(api.args.ssm)).sort()).toEqual([
      "IMGPIPE_ADMIN_KEYS",
      "IMGPIPE_API_KEYS",
      "IMGPIPE_WEBHOOK_SECRET"
    ])
  })
})

describe("database credentials under sst dev", () => {
  it("gives the local API process the same password-less URL and ARN (it reads the secret with the developer's credentials)", async () => {
    const e = await evaluate("test", { dev: true })
    const env = obj(e.recorder.named("sst.aws.Service", "Api").args.environment)
    expect(new URL(str(env.DATABASE_URL)).password).toBe("")
    expect(env.IMGPIPE_DATABASE_SECRET_ARN).toBe(SECRET_ARN)
  })

  it("still derives a non-prod stage's fallback API key from something secret, not from the URL", async () => {
    const e = await evaluate("dev-someone", { secrets: {} })
    const placeholder = str(e.recorder.named("sst.Secret", "ApiKeys").args.placeholder)
    const { createHmac } = await import("node:crypto")
    const url = str(at(e.recorder.named("sst.aws.Service", "Api").args, "environment", "DATABASE_URL"))
    // Anyone who sees the task's environment knows the URL: a key derived from it would be known too.
    expect(placeholder).not.toBe(createHmac("sha256", url).update("ApiKeys fallback").digest("hex"))
    expect(placeholder).toBe(createHmac("sha256", PASSWORD).update("ApiKeys fallback").digest("hex"))
  })

  it("gives every stage, prod included, an admin key nobody knows until AdminKeys is set (closed, not open)", async () => {
    const { createHmac } = await import("node:crypto")
    for (const stage of ["dev-someone", "prod"]) {
      const e = await evaluate(stage, { settings: WITH_DOMAINS, secrets: { ApiKeys: "k", WebhookSecret: "w" } })
      const placeholder = str(e.recorder.named("sst.Secret", "AdminKeys").args.placeholder)
      expect(placeholder, stage).toBe(createHmac("sha256", PASSWORD).update("AdminKeys fallback").digest("hex"))
      expect(placeholder, stage).not.toBe(e.recorder.named("sst.Secret", "ApiKeys").args.placeholder)
    }
  })
})
