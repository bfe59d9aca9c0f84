/**
 * The raw bucket's lifecycle (SYSTEM.md Processing step 5, issue 10 "Costs grow without bound"):
 * originals ProcessImage tagged refused or dead-lettered expire, after a week and after the
 * processing window; with originals not kept every raw object expires after the window; kept
 * originals move to Standard-IA instead.
 */
import { DISPOSITION_TAG as CORE_DISPOSITION_TAG, type OriginalDisposition } from "@imgpipe/core/services/ObjectStorage"
import { beforeAll, describe, expect, it } from "vitest"
import { arr, evaluate, type Evaluation, type Json, obj } from "./support/evaluate.js"

const rulesOf = (e: Evaluation): ReadonlyArray<Json> =>
  arr(e.recorder.named("aws.s3.BucketLifecycleConfiguration", "RawImagesLifecycle").args.rules).map(obj)

/** Rules that expire objects, as `tag value (or "every object") → days`. */
const expirations = (rules: ReadonlyArray<Json>) =>
  Object.fromEntries(
    rules
      .filter((rule) => rule.expiration !== undefined)
      .map((rule) => {
        const tag = obj(rule.filter).tag as { key: string; value: string } | undefined
        return [tag === undefined ? "every object" : `${tag.key}=${tag.value}`, obj(rule.expiration).days]
      })
  )

/** Every disposition core can write (the type makes a new one a compile error here). */
const DISPOSITIONS: Readonly<Record<OriginalDisposition, true>> = { refused: true, "dead-lettered": true }

describe("raw bucket lifecycle, originals kept (the default)", () => {
  let e: Evaluation
  beforeAll(async () => {
    e = await evaluate("test")
  })

  it("expires refused originals after 7 days and dead-lettered ones after the 28-day processing window + 2", () => {
    expect(expirations(rulesOf(e))).toEqual({
      [`${CORE_DISPOSITION_TAG}=refused`]: 7,
      [`${CORE_DISPOSITION_TAG}=dead-lettered`]: 30
    })
  })

  it("filters on the tag and values core's ObjectStorage.markOriginal writes", () => {
    const tagged = rulesOf(e).flatMap((rule) => {
      const tag = obj(rule.filter).tag as { key: string; value: string } | undefined
      return tag === undefined ? [] : [tag]
    })
    expect(tagged.map((tag) => tag.key)).toEqual(Object.keys(DISPOSITIONS).map(() => CORE_DISPOSITION_TAG))
    expect(tagged.map((tag) => tag.value).sort()).toEqual(Object.keys(DISPOSITIONS).sort())
  })

  it("outlives every message that may still ask for a dead-lettered original", async () => {
    const { QUEUE_RETENTION_SECONDS } = await import("../settings.js")
    // The notification waits in the ingest queue, then the job (and its dead letter) in a size queue.
    const lastRedrive = (2 * QUEUE_RETENTION_SECONDS) / 86_400
    const days = expirations(rulesOf(e))[`${CORE_DISPOSITION_TAG}=dead-lettered`]
    expect(days).toBeGreaterThan(lastRedrive)
  })

  it("has no rule that expires every object, and still moves originals to Standard-IA", () => {
    const rules = rulesOf(e)
    expect(rules.filter((rule) => rule.expiration !== undefined && obj(rule.filter).tag === undefined)).toEqual([])
    expect(rules.flatMap((rule) => arr(rule.transitions ?? []))).toEqual([{ days: 30, storageClass: "STANDARD_IA" }])
    expect(rules.every((rule) => rule.status === "Enabled")).toBe(true)
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(rules.length)
  })

  it("expires nothing in the processed bucket (no image deletion exists to produce a rule's input)", () => {
    const processed = arr(
      e.recorder.named("aws.s3.BucketLifecycleConfiguration", "ProcessedImagesLifecycle").args.rules
    ).map(obj)
    expect(processed.filter((rule) => rule.expiration !== undefined)).toEqual([])
  })
})

describe("raw bucket lifecycle, originals not kept (LIMITS.keepOriginals = false)", () => {
  let e: Evaluation
  beforeAll(async () => {
    const { LIMITS } = await import("../settings.js")
    e = await evaluate("test", { settings: { LIMITS: { ...LIMITS, keepOriginals: false } } })
  })

  it("expires every raw object after the processing window, besides the tagged ones", () => {
    expect(expirations(rulesOf(e))).toEqual({
      [`${CORE_DISPOSITION_TAG}=refused`]: 7,
      [`${CORE_DISPOSITION_TAG}=dead-lettered`]: 30,
      "every object": 30
    })
  })

  it("moves nothing to Standard-IA (it bills 30 days at least, for objects about to go)", () => {
    expect(rulesOf(e).flatMap((rule) => arr(rule.transitions ?? []))).toEqual([])
  })

  it("tells ProcessImage the same setting", () => {
    const env = obj(e.recorder.named("sst.aws.Function", "ProcessImageSmall").args.environment)
    expect(env.IMGPIPE_KEEP_ORIGINALS).toBe("false")
  })
})
