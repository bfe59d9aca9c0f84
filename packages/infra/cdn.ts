/**
 * The CloudFront distribution in front of the processed bucket (`IMGPIPE_DELIVERY=cdn`, SYSTEM.md
 * "Delivery"): `get_image` redirects to `https://<distribution>/<image_id>/<size>[.webp|.avif]`,
 * the same URL every time, and browsers and CloudFront cache it for a year (ProcessImage writes
 * every rendition with `Cache-Control: public, max-age=31536000, immutable`).
 *
 * The bucket stays private: CloudFront signs its origin requests with origin access control (OAC),
 * and the bucket policy lets only this distribution GET objects (storage.ts adds
 * `renditionReadPolicy`). Originals live in the raw bucket, which no distribution fronts: they stay
 * behind presigned URLs.
 *
 * Not an SST component: `sst.aws.Router` with a bucket route (and the bucket's
 * `access: "cloudfront"`) grants `s3:GetObject` to every CloudFront distribution, with no
 * `AWS:SourceArn` condition, and runs a CloudFront Function on every request; `sst.aws.Cdn` is
 * SST's internal wrapper ("not intended to be created directly") and adds no OAC. The provider's
 * resources do exactly this: docs/deploy.md#delivery.
 */
import type { PriceClass } from "./settings"

/** The only origin: the processed bucket. */
export const RENDITIONS_ORIGIN_ID = "processed-images"

/**
 * CloudFront's managed `CachingOptimizedForUncompressedObjects` cache policy: the origin's
 * `Cache-Control` decides (within 1 s … 1 year; a day when an object has none), and the cache key
 * is the path alone: no header (not `Accept`: the URL names the format), no cookie, no query
 * string, and no `Accept-Encoding` (images are not compressed again, so one copy per object).
 */
export const CACHE_POLICY_UNCOMPRESSED = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"

/**
 * CloudFront's managed `SimpleCORS` response headers policy: `Access-Control-Allow-Origin: *`, so a
 * page may still fetch() a rendition it was redirected to (as the bucket's CORS allowed). CloudFront
 * adds it itself: the bucket's CORS would answer only requests whose `Origin` reached it, and the
 * cache key carries none.
 */
export const RESPONSE_HEADERS_SIMPLE_CORS = "60669652-455b-4ae9-85a4-c4c02393f86c"

export interface CdnInput {
  /**
   * The processed bucket's name, not the `sst.aws.Bucket`: the bucket's policy names this
   * distribution, and every output of an SST bucket waits for its policy.
   */
  readonly processedBucketName: $util.Input<string>
  readonly priceClass: PriceClass
}

export function cdn(input: CdnInput) {
  const region = aws.getRegionOutput().region

  // Origin access control: CloudFront signs each origin request (SigV4) as
  // cloudfront.amazonaws.com, and the bucket policy accepts it from this distribution only.
  const access = new aws.cloudfront.OriginAccessControl("ProcessedImagesAccess", {
    name: `${$app.name}-${$app.stage}-processed-images`,
    description: "CloudFront reads the processed bucket (renditions) on behalf of viewers",
    originAccessControlOriginType: "s3",
    signingBehavior: "always",
    signingProtocol: "sigv4"
  })

  const distribution = new aws.cloudfront.Distribution("ProcessedImagesCdn", {
    comment: `imgpipe ${$app.stage}: renditions from the processed bucket`,
    enabled: true,
    priceClass: input.priceClass,
    httpVersion: "http2and3",
    isIpv6Enabled: true,
    origins: [
      {
        originId: RENDITIONS_ORIGIN_ID,
        // The bucket's regional endpoint, spelled out (it is what the bucket's
        // `bucketRegionalDomainName` would say, without waiting for the bucket's policy).
        domainName: $interpolate`${input.processedBucketName}.s3.${region}.amazonaws.com`,
        originAccessControlId: access.id
      }
    ],
    defaultCacheBehavior: {
      targetOriginId: RENDITIONS_ORIGIN_ID,
      viewerProtocolPolicy: "redirect-to-https",
      // Read-only: nothing else reaches the bucket through CloudFront.
      allowedMethods: ["GET", "HEAD"],
      cachedMethods: ["GET", "HEAD"],
      // JPEG, WebP and AVIF are compressed already; gzip would only spend CPU at the edge.
      compress: false,
      cachePolicyId: CACHE_POLICY_UNCOMPRESSED,
      responseHeadersPolicyId: RESPONSE_HEADERS_SIMPLE_CORS
    },
    restrictions: { geoRestriction: { restrictionType: "none" } },
    // `https://<id>.cloudfront.net`; a custom domain would need an ACM certificate in us-east-1.
    viewerCertificate: { cloudfrontDefaultCertificate: true },
    // A deploy returns once the distribution serves, so the API never hands out a URL that 404s.
    waitForDeployment: true
  })

  return { distribution, access, url: $interpolate`https://${distribution.domainName}` }
}

/**
 * The processed bucket's policy statement (SST `Bucket` `policy`): `s3:GetObject` on its objects
 * for CloudFront, only when the request comes from `distributionArn` (AWS's recommended OAC
 * policy; without the condition any distribution in any account could read the bucket). No
 * `s3:ListBucket`: a missing key answers 403 through CloudFront, not a listing-backed 404.
 */
export const renditionReadPolicy = (distributionArn: $util.Input<string>) => ({
  effect: "allow" as const,
  principals: [{ type: "service" as const, identifiers: ["cloudfront.amazonaws.com"] }],
  actions: ["s3:GetObject"],
  paths: ["*"],
  conditions: [{ test: "StringEquals", variable: "AWS:SourceArn", values: [distributionArn] }]
})
