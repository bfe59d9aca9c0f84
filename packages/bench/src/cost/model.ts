/**
 * Cost per million uploaded images, from a configuration's measured CPU and bytes (pure; the
 * numbers come from the resize and formats sections through configs.ts, the prices from prices.ts).
 *
 * A month's bill at `imagesPerMonth` (10M a day: 300M) is computed with the prices' volume tiers
 * and divided by the millions of images, as docs/deploy.md's delivery table does: the per-million
 * figure is that of a service at this scale, not of a first million.
 *
 * Parts, each per million uploaded images:
 * - Lambda compute: ProcessImage's measured CPU-s per image (its three jobs) × its memory in GB.
 *   Lambda bills wall time; for single-threaded work at 1769 MB (one full vCPU) wall ≈ CPU, and
 *   the S3 GET/PUT waits (overlapped by the batch's 2 messages at once) are left out. arm64: the
 *   same seconds assumed (measured on x86_64 only). StartProcessing and Reconcile are left out
 *   (~$0.25 per million: docs/costs.md).
 * - Lambda requests, SQS requests and S3 requests: counts per image from docs/aws-requests.md
 *   (REQUESTS below), with full batches (the peak) at packages/infra's batch sizes.
 * - S3 storage: one month of the originals and the renditions (all stored formats), S3 Standard
 *   (originals move to Standard-IA only after 30 days), tiered on one month's uploads.
 * - Delivery: `viewsPerImage` views per image through CloudFront, split over the sizes by
 *   `viewMix` and over clients by what each downloads; transfer out by the GB, HTTPS requests per
 *   view, and one S3 GET per cache miss (S3 → CloudFront transfer is free).
 */
import type { ImageSize } from "@imgpipe/core"
import { type Price, PRICES, tieredCost } from "./prices.js"

export type Prices = { readonly [K in keyof typeof PRICES]: Price }

/** What the model needs of one configuration, per uploaded image (mix-weighted means). */
export interface Configuration {
  readonly id: string
  readonly label: string
  /** Where its numbers come from (a bench section), for the report. */
  readonly source: string
  /** CPU seconds of ProcessImage's three jobs for one image. */
  readonly cpuSeconds: number
  /** Bytes of the uploaded original. */
  readonly originalBytes: number
  /** Bytes of every rendition stored: three sizes, the baseline and each stored extra. */
  readonly storedBytes: number
  /** Extra encodings stored per image, summed over the sizes (one PUT each); 0 for baseline only. */
  readonly extraObjects: number
  /** Mean bytes one view of each size downloads, over the client mix. */
  readonly viewBytes: Readonly<Record<ImageSize, number>>
  /** A second measurement of a configuration listed already (its id): shown, never "the cheapest". */
  readonly duplicateOf?: string
  /** The photo mix when not the `photos` mix (then it is not ranked against the others). */
  readonly mix?: string
}

export interface Batches {
  /** StartProcessing's batch (uploads per invocation). */
  readonly start: number
  /** ProcessImage's batch per size queue. */
  readonly process: Readonly<Record<ImageSize, number>>
}

export interface Assumptions {
  readonly imagesPerMonth: number
  readonly viewsPerImage: number
  /** Share of views per size; sums to 1. */
  readonly viewMix: Readonly<Record<ImageSize, number>>
  /** Share of views CloudFront answers from its caches; the rest is one S3 GET each. */
  readonly cacheHitRatio: number
  /** ProcessImage's configured memory, MB. */
  readonly memoryMb: number
  readonly batches: Batches
}

export const SIZES: ReadonlyArray<ImageSize> = ["small", "medium", "large"]

/**
 * Requests per image, from docs/aws-requests.md ("AWS requests per image"; asserted by
 * packages/functions/test/aws-requests.test.ts). Per-batch counts are divided by the batch size.
 */
export const REQUESTS = {
  /** The client's presigned PUT of the original. */
  uploadPuts: 1,
  /** One baseline PUT per size (the extras add one each: `extraObjects`). */
  baselinePutsPerSize: 1,
  /** ProcessImage reads the original once per size. */
  originalGetsPerSize: 1,
  /** S3's notification to the ingest queue, per upload. */
  sqsNotificationSends: 1,
  /** Per batch of any queue: one ReceiveMessage + one DeleteMessageBatch. */
  sqsPerBatch: 2,
  /** StartProcessing: one SendMessageBatch per size queue per batch. */
  sqsJobSendsPerStartBatch: 3,
  /** One invocation per batch, StartProcessing's and each size's ProcessImage. */
  invocationsPerBatch: 1
} as const

export const requestsPerImage = (config: Pick<Configuration, "extraObjects">, batches: Batches) => {
  const processBatches = SIZES.reduce((s, size) => s + 1 / batches.process[size], 0)
  return {
    s3Puts: REQUESTS.uploadPuts + SIZES.length * REQUESTS.baselinePutsPerSize + config.extraObjects,
    s3Gets: SIZES.length * REQUESTS.originalGetsPerSize,
    sqs: REQUESTS.sqsNotificationSends +
      (REQUESTS.sqsPerBatch + REQUESTS.sqsJobSendsPerStartBatch) / batches.start +
      REQUESTS.sqsPerBatch * processBatches,
    invocations: REQUESTS.invocationsPerBatch * (1 / batches.start + processBatches)
  }
}

/** Cost parts, dollars per million uploaded images. */
export interface CostParts {
  readonly computeX86: number
  readonly computeArm: number
  readonly invocations: number
  readonly sqs: number
  readonly s3Requests: number
  readonly storage: number
  readonly transfer: number
  /** CloudFront HTTPS requests and the cache misses' S3 GETs. */
  readonly deliveryRequests: number
}

export interface Cost {
  readonly parts: CostParts
  readonly totalX86: number
  readonly totalArm: number
  /** Mean bytes per view over the view mix. */
  readonly bytesPerView: number
  /** Per image: GB-s of compute, requests. */
  readonly gbSeconds: number
  readonly requests: ReturnType<typeof requestsPerImage>
}

/** Mean bytes per view: the sizes weighted by `viewMix`. */
export const bytesPerView = (config: Pick<Configuration, "viewBytes">, viewMix: Assumptions["viewMix"]): number =>
  SIZES.reduce((s, size) => s + viewMix[size] * config.viewBytes[size], 0)

export const costOf = (config: Configuration, a: Assumptions, prices: Prices = PRICES): Cost => {
  const images = a.imagesPerMonth
  const perMillion = (monthly: number) => monthly / (images / 1e6)
  const monthly = (price: Price, perImage: number) => perMillion(tieredCost(price, perImage * images))
  const gbSeconds = config.cpuSeconds * (a.memoryMb / 1024)
  const requests = requestsPerImage(config, a.batches)
  const perView = bytesPerView(config, a.viewMix)
  const views = a.viewsPerImage
  const parts: CostParts = {
    computeX86: monthly(prices.lambdaX86GbSecond, gbSeconds),
    computeArm: monthly(prices.lambdaArmGbSecond, gbSeconds),
    invocations: monthly(prices.lambdaRequest, requests.invocations),
    sqs: monthly(prices.sqsRequest, requests.sqs),
    s3Requests: monthly(prices.s3PutRequest, requests.s3Puts) + monthly(prices.s3GetRequest, requests.s3Gets),
    storage: monthly(prices.s3StorageGbMonth, (config.originalBytes + config.storedBytes) / 1e9),
    transfer: monthly(prices.cloudfrontTransferGb, (views * perView) / 1e9),
    deliveryRequests: monthly(prices.cloudfrontHttpsRequest, views) +
      monthly(prices.s3GetRequest, views * (1 - a.cacheHitRatio))
  }
  const shared = parts.invocations + parts.sqs + parts.s3Requests + parts.storage + parts.transfer +
    parts.deliveryRequests
  return {
    parts,
    totalX86: parts.computeX86 + shared,
    totalArm: parts.computeArm + shared,
    bytesPerView: perView,
    gbSeconds,
    requests
  }
}

/**
 * The views per image from which `candidate` costs no more than `reference` (x86_64 totals), by
 * bisection up to `maxViews`: 0 when it is never dearer, undefined when it is still dearer at
 * `maxViews` (bytes per view no smaller, or the saving too small).
 */
export const breakEvenViews = (
  candidate: Configuration,
  reference: Configuration,
  a: Assumptions,
  prices: Prices = PRICES,
  maxViews = 10_000
): number | undefined => {
  const gap = (views: number) =>
    costOf(candidate, { ...a, viewsPerImage: views }, prices).totalX86 -
    costOf(reference, { ...a, viewsPerImage: views }, prices).totalX86
  if (gap(maxViews) > 0) return undefined
  if (gap(0) <= 0) return 0
  let low = 0
  let high = maxViews
  while (high - low > 0.01) {
    const mid = (low + high) / 2
    if (gap(mid) > 0) low = mid
    else high = mid
  }
  return high
}
