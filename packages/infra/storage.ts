/**
 * The two buckets, and the distribution in front of `processed`. Clients PUT originals straight
 * into `raw` with a presigned URL; ProcessImage writes the renditions to `processed`. Both stay
 * private (SST's default public access block): originals are read through URLs the API signed;
 * renditions through CloudFront (origin access control, cdn.ts) when the stage delivers with
 * `cdn`, else through signed URLs too.
 */
import { cdn, renditionReadPolicy } from "./cdn"
import {
  accountBucketPrefix,
  BUCKET_PREFIX,
  bucketNames,
  LIMITS,
  QUEUE_RETENTION_SECONDS,
  stageDelivery
} from "./settings"

/** Incomplete multipart uploads are invisible but billed; a day is ample to finish one. */
const abortIncompleteUploads = {
  id: "abort-incomplete-multipart-uploads",
  status: "Enabled",
  // An empty filter: the rule applies to every object.
  filter: {},
  abortIncompleteMultipartUpload: { daysAfterInitiation: 1 }
}

// ---- originals nobody needs (SYSTEM.md Processing step 5) -----------------------------------
// ProcessImage tags the raw object `imgpipe-disposition=<refused|dead-lettered>` (core's
// ObjectStorage.markOriginal; the key and values are checked against core in storage.test.ts).
// S3 counts a rule's days from the object's creation (the upload), not from the tagging.

/** The tag ProcessImage writes on an original it will not need again, or may not. */
export const DISPOSITION_TAG = "imgpipe-disposition"

const DAY_SECONDS = 24 * 3600

/**
 * How long after its upload an original may still be needed by a job: its notification may wait
 * in the ingest queue for the full retention before StartProcessing sends the size jobs, and a job
 * (or its dead letter, which keeps its enqueue time) may wait for the full retention again before
 * it is processed or redriven: 2 × 14 = 28 days. Nothing can ask for the original after that.
 */
export const PROCESSING_WINDOW_DAYS = (2 * QUEUE_RETENTION_SECONDS) / DAY_SECONDS

export const ORIGINAL_EXPIRY_DAYS = {
  /**
   * Refused content (not an image, unsupported, over the limits) is never processed: kept a week,
   * long enough for support to look at an upload someone says was wrongly refused.
   */
  refused: 7,
  /**
   * A dead-lettered job may be redriven while its dead letter lives: the processing window, plus
   * 2 days because S3 runs lifecycle rules once a day and rounds to midnight UTC.
   */
  deadLettered: PROCESSING_WINDOW_DAYS + 2,
  /**
   * With IMGPIPE_KEEP_ORIGINALS=false every original goes: ProcessImage deletes it once the image
   * is ready, and this catches the rest (never processed, failed, or a delete that failed) once no
   * job can ask for it any more, with the same margin.
   */
  unkept: PROCESSING_WINDOW_DAYS + 2
} as const

const expireTagged = (id: string, value: string, days: number) => ({
  id,
  status: "Enabled",
  filter: { tag: { key: DISPOSITION_TAG, value } },
  expiration: { days }
})

/** The raw bucket's rules: which originals expire, and when; see the constants above. */
export const rawLifecycleRules = (keepOriginals: boolean) => [
  expireTagged("expire-refused-originals", "refused", ORIGINAL_EXPIRY_DAYS.refused),
  expireTagged("expire-dead-lettered-originals", "dead-lettered", ORIGINAL_EXPIRY_DAYS.deadLettered),
  ...(keepOriginals
    ? [
      {
        // Originals are kept (IMGPIPE_KEEP_ORIGINALS) but rarely read once the renditions
        // exist: Standard-IA halves their storage price. S3 skips objects under 128 KB by
        // default, which Standard-IA would bill as 128 KB anyway.
        id: "originals-to-standard-ia",
        status: "Enabled",
        filter: {},
        transitions: [{ days: 30, storageClass: "STANDARD_IA" }]
      }
    ]
    : [
      {
        // Originals are not kept: none outlives the processing window (no transition either,
        // Standard-IA bills 30 days at least).
        id: "expire-unkept-originals",
        status: "Enabled",
        filter: {},
        expiration: { days: ORIGINAL_EXPIRY_DAYS.unkept }
      }
    ]),
  abortIncompleteUploads
]

/**
 * The committed prefix, or one from the deploying account's id: S3 names are global, and
 * `raw-image-test` alone is almost certainly taken. The account id never changes for a stage, so
 * the names (and the buckets) stay the same from one deploy to the next.
 */
const bucketPrefix = (): $util.Input<string> =>
  BUCKET_PREFIX ??
    aws.getCallerIdentityOutput().accountId.apply((accountId) => accountBucketPrefix($app.name, accountId))

export function storage() {
  const names = $resolve([bucketPrefix()]).apply(([prefix]) => bucketNames($app.stage, prefix))

  const raw = new sst.aws.Bucket("RawImages", {
    // Browsers upload with the presigned PUT from `POST /upload`; the signature (type, length,
    // 15 minutes) is the credential, so any web origin may use a URL the API issued. GET/HEAD let
    // a page fetch() the original that `get_image` falls back to (an <img> needs no CORS).
    cors: {
      allowOrigins: ["*"],
      allowMethods: ["PUT", "GET", "HEAD"],
      // `content-length` is set by the browser itself and never appears in a preflight;
      // `if-none-match: *` is signed into the upload URL (one upload per URL, a conditional write).
      allowHeaders: ["content-type", "if-none-match"],
      exposeHeaders: ["ETag"],
      maxAge: "1 hour"
    },
    transform: {
      // The spec's physical name; SST would otherwise generate `imgpipe-<stage>-rawimages-<hash>`.
      bucket: { bucket: names.apply((n) => n.raw) }
    }
  })

  // SST's `lifecycle` option only expresses expirations; the transition, the tag filters and the
  // multipart rule need the provider's resource. A bucket has one lifecycle configuration: this is it.
  new aws.s3.BucketLifecycleConfiguration("RawImagesLifecycle", {
    bucket: raw.name,
    rules: rawLifecycleRules(LIMITS.keepOriginals)
  })

  // The distribution comes first: the processed bucket's policy names it (and it needs only the
  // bucket's name, not the bucket). `signed` makes none: nothing of the bucket is public then.
  const delivery = stageDelivery($app.stage)
  const renditionsCdn = delivery.mode === "cdn"
    ? cdn({ processedBucketName: names.apply((n) => n.processed), priceClass: delivery.priceClass })
    : undefined

  const processed = new sst.aws.Bucket("ProcessedImages", {
    // Only this stage's distribution may read objects (no `access`: the public access block stays).
    policy: renditionsCdn ? [renditionReadPolicy(renditionsCdn.distribution.arn)] : undefined,
    // Read-only for browsers: a page may fetch() a rendition it was redirected to (signed URLs;
    // CloudFront adds its own CORS header, cdn.ts).
    cors: {
      allowOrigins: ["*"],
      allowMethods: ["GET", "HEAD"],
      allowHeaders: ["*"],
      exposeHeaders: ["ETag", "Content-Length", "Content-Type"],
      maxAge: "1 hour"
    },
    transform: {
      bucket: { bucket: names.apply((n) => n.processed) }
    }
  })

  new aws.s3.BucketLifecycleConfiguration("ProcessedImagesLifecycle", {
    bucket: processed.name,
    rules: [abortIncompleteUploads]
  })

  return { raw, processed, cdn: renditionsCdn }
}
