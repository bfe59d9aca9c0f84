/**
 * Choices that depend on the stage or on committed settings: prod's refusal of plain HTTP, the
 * bucket names (account default, committed prefix, S3's length rule), the ApiKeys fallback.
 */
import { describe, expect, it } from "vitest"
import { arr, at, evaluate, type Evaluation, obj, str, WITH_DOMAINS } from "./support/evaluate.js"
import { ACCOUNT } from "./support/sst-fakes.js"

describe("sst.config.ts, choices per stage", () => {
  const bucketsOf = (e: Evaluation) =>
    e.recorder.ofKind("sst.aws.Bucket").map((b) => at(b.args, "transform", "bucket", "bucket"))

  it("refuses to deploy prod without a domain, and says how to set one", async () => {
    await expect(evaluate("prod")).rejects.toThrow(/API_DOMAINS in packages\/infra\/settings\.ts/)
  })

  it("serves test over plain HTTP, and prod over HTTPS with HTTP redirected", async () => {
    const test = await evaluate("test")
    expect(at(test.recorder.named("sst.aws.Service", "Api").args, "loadBalancer", "domain")).toBeUndefined()
    const prod = await evaluate("prod", { settings: WITH_DOMAINS })
    const loadBalancer = obj(at(prod.recorder.named("sst.aws.Service", "Api").args, "loadBalancer"))
    expect(loadBalancer.domain).toBe("api.example.com")
    expect(arr(loadBalancer.rules).map(obj)).toContainEqual({ listen: "80/http", redirect: "443/https" })
  })

  it("allocates prod's database where gp3 gives 12,000 IOPS, keeps 14 days of backups and guards it from deletion", async () => {
    /** The RDS instance's arguments after the Postgres component's `transform.instance`. */
    const instanceArgs = (e: Evaluation) => {
      const transform = at(e.recorder.named("sst.aws.Postgres", "Database").args, "transform", "instance")
      if (typeof transform !== "function") throw new Error("Database has no transform.instance")
      const args: Record<string, unknown> = { allocatedStorage: 20, backupRetentionPeriod: 7, skipFinalSnapshot: true }
      transform(args, {}, "DatabaseInstance")
      return args
    }
    const prod = await evaluate("prod", { settings: WITH_DOMAINS })
    expect(instanceArgs(prod)).toMatchObject({
      allocatedStorage: 400,
      backupRetentionPeriod: 14,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "imgpipe-prod-final",
      deleteAutomatedBackups: false
    })
    expect(prod.recorder.named("sst.aws.Postgres", "Database").args.storage).toBe("4 TB")
    const test = instanceArgs(await evaluate("test"))
    expect(test).toMatchObject({ allocatedStorage: 20, backupRetentionPeriod: 7, skipFinalSnapshot: true })
    expect(test.deletionProtection).toBeUndefined()
  })

  it("names the buckets with a committed prefix instead of the account's, when one is set", async () => {
    const e = await evaluate("test", { settings: { BUCKET_PREFIX: "acme-" } })
    expect(bucketsOf(e).sort()).toEqual(["acme-processed-image-test", "acme-raw-image-test"])
    expect(bucketsOf(await evaluate("test")).sort()).toEqual([
      `imgpipe-${ACCOUNT}-processed-image-test`,
      `imgpipe-${ACCOUNT}-raw-image-test`
    ])
  })

  it("refuses a stage whose bucket names S3 would refuse, and says what to shorten", async () => {
    // imgpipe-<12 digits>-processed-image- is 37 characters: 26 are left for the stage.
    await expect(evaluate("dev-a-rather-long-stage-nam")).rejects.toThrow(/not a valid S3 name.*shorter stage name/)
    expect(bucketsOf(await evaluate("dev-a-rather-long-stage-na"))).toHaveLength(2)
  })

  it("gives a stage other than prod whose ApiKeys were never set a stable key nobody knows", async () => {
    const keyOf = async () => {
      const e = await evaluate("dev-someone", { secrets: {} })
      const placeholder = e.recorder.named("sst.Secret", "ApiKeys").args.placeholder
      const parameter = e.recorder.ofKind("aws.ssm.Parameter").find((p) => p.name === "ApiIMGPIPE_API_KEYS")
      expect(parameter?.args.value).toBe(placeholder)
      return str(placeholder)
    }
    const key = await keyOf()
    // Not empty: an empty IMGPIPE_API_KEYS would open the API.
    expect(key).toMatch(/^[0-9a-f]{64}$/)
    expect(await keyOf()).toBe(key)
  })

  it("gives prod no fallback key: its ApiKeys must be set", async () => {
    const e = await evaluate("prod", { settings: WITH_DOMAINS })
    expect(e.recorder.named("sst.Secret", "ApiKeys").args.placeholder).toBeUndefined()
    await expect(evaluate("prod", { settings: WITH_DOMAINS, secrets: {} })).rejects.toThrow(/SecretMissingError/)
  })
})
