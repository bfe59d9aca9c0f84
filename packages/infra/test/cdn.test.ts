/**
 * Delivery in AWS (packages/infra/cdn.ts, storage.ts, settings.ts `stageDelivery`), read back from
 * `sst.config.ts` evaluated against the recording SST fakes: the CloudFront distribution in front
 * of the processed bucket with origin access control, the bucket policy that lets only that
 * distribution read, the API's `IMGPIPE_DELIVERY`/`IMGPIPE_CDN_URL`, ProcessImage's
 * `IMGPIPE_FORMATS`, and `signed`, which makes no distribution.
 */
import { describe, expect, it } from "vitest"
import { arr, at, evaluate, type Evaluation, obj, queries, str, WITH_DOMAINS } from "./support/evaluate.js"
import { ACCOUNT, REGION } from "./support/sst-fakes.js"

const DISTRIBUTION_ARN = `arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`
const CDN_URL = "https://d111111abcdef8.cloudfront.net"
const PROCESS_IMAGE = ["ProcessImageSmall", "ProcessImageMedium", "ProcessImageLarge"]

/** One evaluation per stage with the committed settings, shared by the tests that read it. */
const committed = new Map<string, Promise<Evaluation>>()
const evaluated = (stage: string) => {
  const cached = committed.get(stage) ?? evaluate(stage, { settings: WITH_DOMAINS })
  committed.set(stage, cached)
  return cached
}
/** The stage with its `stageDelivery` replaced. */
const withDelivery = (stage: string, delivery: unknown) =>
  evaluate(stage, { settings: { ...WITH_DOMAINS, stageDelivery: () => delivery } })

describe.each(["test", "prod"])("stage %s delivers through CloudFront", (stage) => {
  const distribution = async () => {
    const distributions = queries(await evaluated(stage)).ofKind("aws.cloudfront.Distribution")
    expect(distributions).toHaveLength(1)
    return distributions[0]!
  }

  it("has one distribution whose only origin is the processed bucket, signed with origin access control", async () => {
    const e = await evaluated(stage)
    const { args } = await distribution()
    const origins = arr(args.origins).map(obj)
    expect(origins).toHaveLength(1)
    const origin = origins[0]!
    // The processed bucket's regional endpoint; the raw bucket (originals) is never behind CloudFront.
    expect(origin.domainName).toBe(`${str(e.outputs.processedBucket)}.s3.${REGION}.amazonaws.com`)
    expect(str(origin.domainName)).not.toContain(str(e.outputs.rawBucket))
    // S3 origin with OAC: no custom (public website) origin, no legacy origin access identity.
    expect(origin.customOriginConfig).toBeUndefined()
    expect(at(origin, "s3OriginConfig", "originAccessIdentity") ?? "").toBe("")
    const oac = queries(e).ofKind("aws.cloudfront.OriginAccessControl")
    expect(oac).toHaveLength(1)
    expect(origin.originAccessControlId).toBe(at(oac[0]?.instance, "id", "value"))
    expect(oac[0]?.args).toMatchObject({
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4"
    })
    expect(args.enabled).toBe(true)
  })

  it("serves GET and HEAD only, redirects HTTP to HTTPS, and does not gzip images", async () => {
    const behavior = obj((await distribution()).args.defaultCacheBehavior)
    expect(behavior.targetOriginId).toBe(at(arr((await distribution()).args.origins)[0], "originId"))
    expect(arr(behavior.allowedMethods).map(str).sort()).toEqual(["GET", "HEAD"])
    expect(arr(behavior.cachedMethods).map(str).sort()).toEqual(["GET", "HEAD"])
    expect(behavior.viewerProtocolPolicy).toBe("redirect-to-https")
    expect(behavior.compress).toBe(false)
    expect((await distribution()).args.orderedCacheBehaviors ?? []).toEqual([])
  })

  it("caches by the path alone, as long as the object's Cache-Control says", async () => {
    const behavior = obj((await distribution()).args.defaultCacheBehavior)
    // Managed CachingOptimizedForUncompressedObjects: TTL from the origin's Cache-Control (max one
    // year), no header (Accept), cookie, query string or Accept-Encoding in the key.
    expect(behavior.cachePolicyId).toBe("b2884449-e4de-46a7-ac36-70bc7f1ddd6d")
    // Legacy cache settings would override the policy: none are set.
    for (const legacy of ["forwardedValues", "minTtl", "defaultTtl", "maxTtl", "originRequestPolicyId"]) {
      expect(behavior[legacy], legacy).toBeUndefined()
    }
    // CORS for fetch() from pages: managed SimpleCORS.
    expect(behavior.responseHeadersPolicyId).toBe("60669652-455b-4ae9-85a4-c4c02393f86c")
  })

  it("uses the stage's price class: every edge for prod, North America and Europe for test", async () => {
    expect((await distribution()).args.priceClass).toBe(stage === "prod" ? "PriceClass_All" : "PriceClass_100")
  })

  it("lets only this distribution read the processed bucket, which stays private", async () => {
    const e = await evaluated(stage)
    const { named } = queries(e)
    const processed = named("sst.aws.Bucket", "ProcessedImages")
    // No public access: SST's public access block stays (no `access`, no `public`, not transformed away).
    expect(processed.args.access).toBeUndefined()
    expect(processed.args.public).toBeUndefined()
    expect(at(processed.args, "transform", "publicAccessBlock")).toBeUndefined()
    expect(arr(processed.args.policy)).toEqual([
      {
        effect: "allow",
        principals: [{ type: "service", identifiers: ["cloudfront.amazonaws.com"] }],
        actions: ["s3:GetObject"],
        paths: ["*"],
        conditions: [{ test: "StringEquals", variable: "AWS:SourceArn", values: [DISTRIBUTION_ARN] }]
      }
    ])
    // The raw bucket (originals) grants CloudFront nothing.
    const raw = named("sst.aws.Bucket", "RawImages")
    expect(raw.args.policy).toBeUndefined()
    expect(raw.args.access).toBeUndefined()
  })

  it("gives the API the CDN URL and cdn delivery, every runtime the stage's formats, and outputs the URL", async () => {
    const e = await evaluated(stage)
    const { named, ofKind } = queries(e)
    const api = obj(named("sst.aws.Service", "Api").args.environment)
    expect(api.IMGPIPE_DELIVERY).toBe("cdn")
    expect(api.IMGPIPE_CDN_URL).toBe(CDN_URL)
    expect(api.IMGPIPE_FORMATS).toBe("webp")
    for (const name of PROCESS_IMAGE) {
      const env = obj(named("sst.aws.Function", name).args.environment)
      expect(env.IMGPIPE_FORMATS, name).toBe("webp")
      // Only the API hands out URLs.
      expect(env.IMGPIPE_CDN_URL, name).toBeUndefined()
    }
    expect(ofKind("sst.aws.Function").filter((f) => obj(f.args.environment).IMGPIPE_CDN_URL !== undefined)).toEqual(
      []
    )
    expect(e.outputs.cdnUrl).toBe(CDN_URL)
    expect(e.outputs.cdnDistributionId).toBe("E2QWRUHAPOMQZL")
  })
})

describe("stage settings", () => {
  it("IMGPIPE_FORMATS=webp,avif reaches ProcessImage and the API", async () => {
    const e = await withDelivery("test", { mode: "cdn", formats: ["webp", "avif"], priceClass: "PriceClass_100" })
    const { named } = queries(e)
    for (const name of PROCESS_IMAGE) {
      expect(obj(named("sst.aws.Function", name).args.environment).IMGPIPE_FORMATS, name).toBe("webp,avif")
    }
    expect(obj(named("sst.aws.Service", "Api").args.environment).IMGPIPE_FORMATS).toBe("webp,avif")
  })

  it("no extra formats is IMGPIPE_FORMATS=none (the baseline only)", async () => {
    const e = await withDelivery("test", { mode: "cdn", formats: [], priceClass: "PriceClass_200" })
    expect(obj(queries(e).named("sst.aws.Function", "ProcessImageLarge").args.environment).IMGPIPE_FORMATS).toBe(
      "none"
    )
    expect(queries(e).ofKind("aws.cloudfront.Distribution")[0]?.args.priceClass).toBe("PriceClass_200")
  })

  it("signed: no distribution, no bucket policy for CloudFront, the API signs (no IMGPIPE_CDN_URL)", async () => {
    const e = await withDelivery("prod", { mode: "signed", formats: ["webp"], priceClass: "PriceClass_All" })
    const { named, ofKind } = queries(e)
    expect(ofKind("aws.cloudfront.Distribution")).toEqual([])
    expect(ofKind("aws.cloudfront.OriginAccessControl")).toEqual([])
    expect(named("sst.aws.Bucket", "ProcessedImages").args.policy).toBeUndefined()
    const api = obj(named("sst.aws.Service", "Api").args.environment)
    expect(api.IMGPIPE_DELIVERY).toBe("signed")
    expect(api).not.toHaveProperty("IMGPIPE_CDN_URL")
    expect(e.outputs.cdnUrl).toBeUndefined()
  })
})
