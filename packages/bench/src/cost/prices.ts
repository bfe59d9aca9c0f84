/**
 * AWS list prices the cost model uses, in one place: us-east-1, on demand, no free tier, no savings
 * plan, decimal units (1 GB = 10^9 bytes). Written down on PRICES_DATE "as last known, not checked
 * live": the machines this repository is built on cannot reach aws.amazon.com, so re-check every
 * number against its page before budgeting. docs/deploy.md ("What delivery costs") uses the same
 * numbers and points here; docs/costs.md's monthly estimate quotes the same list prices.
 */

export const PRICES_DATE = "2026-11-30"
export const PRICES_NOTE = "as last known, not checked live"

/** A tier: `upTo` units (cumulative, per month; Infinity for the last) at `price` each. */
export interface Tier {
  readonly upTo: number
  readonly price: number
}

export interface Price<Unit extends string = string> {
  readonly unit: Unit
  /** Tiers by monthly volume, lowest first; one tier for a flat price. */
  readonly tiers: ReadonlyArray<Tier>
  /** The pricing page it was read from. */
  readonly source: string
}

const flat = <U extends string>(unit: U, price: number, source: string): Price<U> => ({
  unit,
  tiers: [{ upTo: Number.POSITIVE_INFINITY, price }],
  source
})

const LAMBDA = "AWS Lambda pricing, aws.amazon.com/lambda/pricing (us-east-1)"
const SQS = "Amazon SQS pricing, aws.amazon.com/sqs/pricing (standard queues)"
const S3 = "Amazon S3 pricing, aws.amazon.com/s3/pricing (S3 Standard, us-east-1)"
const CLOUDFRONT = "Amazon CloudFront pricing, aws.amazon.com/cloudfront/pricing (on demand, North America/Europe)"

const TB = 1000 // GB

export const PRICES = {
  /** Duration, x86_64, per GB-second (memory in GB = MB / 1024), tiered by GB-s per month. */
  lambdaX86GbSecond: {
    unit: "GB-s",
    tiers: [
      { upTo: 6e9, price: 0.0000166667 },
      { upTo: 15e9, price: 0.000015 },
      { upTo: Number.POSITIVE_INFINITY, price: 0.0000133334 }
    ],
    source: LAMBDA
  } satisfies Price,
  /** Duration, arm64 (Graviton), per GB-second, tiered by GB-s per month. */
  lambdaArmGbSecond: {
    unit: "GB-s",
    tiers: [
      { upTo: 7.5e9, price: 0.0000133334 },
      { upTo: 18.75e9, price: 0.0000120001 },
      { upTo: Number.POSITIVE_INFINITY, price: 0.0000106667 }
    ],
    source: LAMBDA
  } satisfies Price,
  /** Requests (invocations), the same for x86_64 and arm64: $0.20 per million. */
  lambdaRequest: flat("request", 0.2 / 1e6, LAMBDA),
  /** Standard queue requests (each 64 KiB of payload is one): $0.40 per million. */
  sqsRequest: flat("request", 0.4 / 1e6, SQS),
  /** Storage, per GB-month, tiered by the bucket's volume: first 50 TB, next 450 TB, over 500 TB. */
  s3StorageGbMonth: {
    unit: "GB-month",
    tiers: [
      { upTo: 50 * TB, price: 0.023 },
      { upTo: 500 * TB, price: 0.022 },
      { upTo: Number.POSITIVE_INFINITY, price: 0.021 }
    ],
    source: S3
  } satisfies Price,
  /** PUT, COPY, POST, LIST: $0.005 per 1,000. */
  s3PutRequest: flat("request", 0.005 / 1000, S3),
  /** GET, SELECT and all other requests: $0.0004 per 1,000. */
  s3GetRequest: flat("request", 0.0004 / 1000, S3),
  /** Regional data transfer out to the internet, per GB, tiered by GB per month. */
  cloudfrontTransferGb: {
    unit: "GB",
    tiers: [
      { upTo: 10 * TB, price: 0.085 },
      { upTo: 50 * TB, price: 0.08 },
      { upTo: 150 * TB, price: 0.06 },
      { upTo: 500 * TB, price: 0.04 },
      { upTo: 1024 * TB, price: 0.03 },
      { upTo: 5120 * TB, price: 0.025 },
      { upTo: Number.POSITIVE_INFINITY, price: 0.02 }
    ],
    source: CLOUDFRONT
  } satisfies Price,
  /** HTTPS requests: $0.0100 per 10,000. S3 → CloudFront (origin fetch) transfer is free. */
  cloudfrontHttpsRequest: flat("request", 0.01 / 10_000, CLOUDFRONT)
} as const

export type PriceId = keyof typeof PRICES

/** What `quantity` units cost in one month at `price`'s tiers (the whole month's volume, lowest tier first). */
export const tieredCost = (price: Price, quantity: number): number => {
  let total = 0
  let from = 0
  for (const tier of price.tiers) {
    if (quantity <= from) break
    total += (Math.min(quantity, tier.upTo) - from) * tier.price
    from = tier.upTo
  }
  return total
}

/** The first tier's price (what a small volume pays per unit). */
export const firstTier = (price: Price): number => price.tiers[0]?.price ?? Number.NaN
