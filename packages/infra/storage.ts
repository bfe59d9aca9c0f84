/**
 * The two buckets. Clients PUT originals straight into `raw` with a presigned URL; ProcessImage
 * writes the renditions to `processed`. Both stay private (SST's default public access block):
 * every read and write goes through a URL the API signed.
 */
import { BUCKET_PREFIX, accountBucketPrefix, bucketNames } from "./settings"

/** Incomplete multipart uploads are invisible but billed; a day is ample to finish one. */
const abortIncompleteUploads = {
  id: "abort-incomplete-multipart-uploads",
  status: "Enabled",
  // An empty filter: the rule applies to every object.
  filter: {},
  abortIncompleteMultipartUpload: { daysAfterInitiation: 1 }
}

/**
 * The committed prefix, or one from the deploying account's id: S3 names are global, and
 * `raw-image-test` alone is almost certainly taken. The account id never changes for a stage, so
 * the names (and the buckets) stay the same from one deploy to the next.
 */
const bucketPrefix = (): $util.Input<string> =>
  BUCKET_PREFIX ?? aws.getCallerIdentityOutput().accountId.apply((accountId) => accountBucketPrefix($app.name, accountId))

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

  // SST's `lifecycle` option only expresses expirations; the transition and the multipart rule
  // need the provider's resource. A bucket has one lifecycle configuration: this is it.
  new aws.s3.BucketLifecycleConfiguration("RawImagesLifecycle", {
    bucket: raw.name,
    rules: [
      {
        // Originals are kept (IMGPIPE_KEEP_ORIGINALS) but rarely read once the renditions exist:
        // Standard-IA halves their storage price. S3 skips objects under 128 KB by default, which
        // Standard-IA would bill as 128 KB anyway.
        id: "originals-to-standard-ia",
        status: "Enabled",
        filter: {},
        transitions: [{ days: 30, storageClass: "STANDARD_IA" }]
      },
      abortIncompleteUploads
    ]
  })

  const processed = new sst.aws.Bucket("ProcessedImages", {
    // Read-only for browsers: a page may fetch() a rendition it was redirected to.
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

  return { raw, processed }
}
