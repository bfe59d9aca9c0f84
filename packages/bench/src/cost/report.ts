/** The cost section in the summary table and in docs/benchmarks.md ("Cost per million images"). */
import { fmt, fmtBytes, mdTable } from "../util.js"
import { breakEvenViews, type CostParts, requestsPerImage } from "./model.js"
import { type Price, PRICES, PRICES_DATE, PRICES_NOTE } from "./prices.js"
import type { CostRow, CostSection } from "./section.js"

/** The parts in the order of the table and the chart; compute has an x86_64 and an arm64 value. */
export const PARTS: ReadonlyArray<{ readonly key: keyof CostParts; readonly label: string }> = [
  { key: "computeX86", label: "Lambda compute" },
  { key: "invocations", label: "Lambda requests" },
  { key: "sqs", label: "SQS requests" },
  { key: "s3Requests", label: "S3 requests" },
  { key: "storage", label: "S3 storage (1 month)" },
  { key: "transfer", label: "CloudFront transfer" },
  { key: "deliveryRequests", label: "CloudFront requests + origin GETs" }
]

export const dollars = (value: number): string =>
  !Number.isFinite(value)
    ? "–"
    : `$${value >= 1000 ? Math.round(value).toLocaleString("en-US") : value.toFixed(value >= 10 ? 1 : 2)}`

/** The cheapest on x86_64, second measurements of a listed configuration left out. */
const cheapest = (rows: ReadonlyArray<CostRow>): CostRow | undefined =>
  rows.filter((r) => r.config.duplicateOf === undefined && r.config.mix === undefined).reduce<CostRow | undefined>(
    (a, b) => (a === undefined || b.cost.totalX86 < a.cost.totalX86 ? b : a),
    undefined
  )

const shippedRow = (s: CostSection): CostRow | undefined => s.rows.find((r) => r.config.id === `formats:${s.shipped}`)

export const costSummary = (s: CostSection): ReadonlyArray<{ readonly what: string; readonly result: string }> => {
  const best = cheapest(s.rows)
  const shipped = shippedRow(s)
  const out: Array<{ what: string; result: string }> = []
  if (shipped !== undefined) {
    out.push({
      what: `as shipped, ${s.assumptions.viewsPerImage} views/image`,
      result: `${dollars(shipped.cost.totalX86)} per million images (x86_64; arm64 ${
        dollars(shipped.cost.totalArm)
      }); compute ${fmt((shipped.cost.parts.computeX86 / shipped.cost.totalX86) * 100, 1)} %, transfer ${
        fmt((shipped.cost.parts.transfer / shipped.cost.totalX86) * 100, 0)
      } %`
    })
  }
  if (best !== undefined) {
    out.push({
      what: "cheapest configuration",
      result: `${best.config.label}: ${dollars(best.cost.totalX86)} per million` +
        (shipped === undefined || shipped === best
          ? ""
          : ` (${fmt((1 - best.cost.totalX86 / shipped.cost.totalX86) * 100, 1)} % below as shipped)`)
    })
  }
  for (const mix of [...new Set(s.rows.map((r) => r.config.mix).filter((m) => m !== undefined))]) {
    out.push({
      what: `${mix} mix (resize section, baseline only)`,
      result: s.rows.filter((r) => r.config.mix === mix).map((r) =>
        `${r.config.label.replace(`, ${mix} mix`, "").replace(" (resize section)", "")} ${dollars(r.cost.totalX86)}`
      ).join(" · ")
    })
  }
  for (const m of s.missing) out.push({ what: m.label, result: `not computed: ${m.reason.slice(0, 70)}` })
  return out
}

const inputsTable = (s: CostSection): string =>
  mdTable(
    [
      "configuration",
      "from",
      "CPU s per image",
      "GB-s per image",
      "original",
      "stored renditions",
      "S3 PUTs per image",
      "bytes per view"
    ],
    s.rows.map(({ config, cost }) => [
      config.label,
      config.source,
      fmt(config.cpuSeconds, 3),
      fmt(cost.gbSeconds, 3),
      fmtBytes(config.originalBytes),
      fmtBytes(config.storedBytes),
      fmt(requestsPerImage(config, s.assumptions.batches).s3Puts, 2),
      fmtBytes(cost.bytesPerView)
    ]),
    ["l", "l", "r", "r", "r", "r", "r", "r"]
  )

const costTable = (s: CostSection): string => {
  const best = cheapest(s.rows)
  return mdTable(
    [
      "configuration",
      "Lambda compute x86_64",
      "Lambda compute arm64",
      ...PARTS.slice(1).map((p) => p.label),
      "total x86_64",
      "total arm64"
    ],
    s.rows.map(({ config, cost }) => {
      const total = (v: number) => (config === best?.config ? `**${dollars(v)}**` : dollars(v))
      return [
        config.label,
        dollars(cost.parts.computeX86),
        dollars(cost.parts.computeArm),
        ...PARTS.slice(1).map((p) => dollars(cost.parts[p.key])),
        total(cost.totalX86),
        total(cost.totalArm)
      ]
    }),
    ["l", ...Array.from({ length: PARTS.length + 3 }, () => "r" as const)]
  )
}

/** One paragraph from the numbers: what the bill is made of and what the cheapest one saves. */
const reading = (s: CostSection): string => {
  const shipped = shippedRow(s)
  const best = cheapest(s.rows)
  if (shipped === undefined || best === undefined) return ""
  const p = shipped.cost.parts
  const bytesShare = (p.transfer + p.storage) / shipped.cost.totalX86
  const sentences = [
    `As shipped, bytes (CloudFront transfer and storage) are ${fmt(bytesShare * 100, 0)} % of the bill and ` +
    `ProcessImage's CPU ${fmt((p.computeX86 / shipped.cost.totalX86) * 100, 1)} % (${dollars(p.computeX86)} of ${
      dollars(shipped.cost.totalX86)
    } per million images on x86_64; arm64 saves ${dollars(p.computeX86 - p.computeArm)}).`
  ]
  if (best !== shipped) {
    const deltas = PARTS.map((part) => ({
      label: part.label,
      delta: best.cost.parts[part.key] - p[part.key]
    })).filter((d) => Math.abs(d.delta) >= 0.05)
    const saves = deltas.filter((d) => d.delta < 0).sort((x, y) => x.delta - y.delta)
    const pays = deltas.filter((d) => d.delta > 0).sort((x, y) => y.delta - x.delta)
    sentences.push(
      `The cheapest here is ${best.config.label} at ${dollars(best.cost.totalX86)}, ${
        fmt((1 - best.cost.totalX86 / shipped.cost.totalX86) * 100, 1)
      } % less: it saves ${saves.map((d) => `${dollars(-d.delta)} of ${d.label}`).join(", ")}${
        pays.length === 0 ? "" : ` and pays ${pays.map((d) => `${dollars(d.delta)} more ${d.label}`).join(", ")}`
      }.`
    )
  } else {
    sentences.push("It is also the cheapest configuration measured.")
  }
  const none = s.rows.find((r) => r.config.id === "formats:none")
  if (none !== undefined) {
    const extras = s.rows.filter((r) => r.config.id.startsWith("formats:") && r !== none)
    const evens = extras.map((r) => {
      const v = breakEvenViews(r.config, none.config, s.assumptions)
      return `\`${r.config.id.slice("formats:".length)}\` ${
        v === undefined ? "not within 10,000" : v === 0 ? "at any count" : `from ~${fmt(v, 0)}`
      }`
    })
    if (evens.length > 0) {
      sentences.push(
        `Against the baseline only, in money alone, the extras pay for themselves at these views per image: ${
          evens.join(", ")
        } (fewer bytes per view against their CPU, PUTs and storage; the viewers' load time is not priced).`
      )
    }
  }
  // The resize section's rows against its own measurement of imgpipe (same process, same settings).
  const ours = s.rows.find((r) => r.config.id === "resize:imgpipe")
  const others = s.rows.filter((r) => r.config.id.startsWith("resize:") && r !== ours && r.config.mix === undefined)
  if (ours !== undefined) {
    const formatsNone = s.rows.find((r) => r.config.id === "formats:none")
    if (formatsNone !== undefined) {
      sentences.push(
        `The resize section measured imgpipe's baseline work at ${
          fmt(ours.config.cpuSeconds, 2)
        } CPU-s per image where the ` +
          `formats section measured ${
            fmt(formatsNone.config.cpuSeconds, 2)
          } (a fresh process with Lambda's allocator settings, the placeholder included), so the naive loop and ImageMagick are compared with the resize section's row.`
      )
    }
    for (const row of others) {
      sentences.push(
        `${row.config.label}: ${fmt(row.config.cpuSeconds / ours.config.cpuSeconds, 2)}× imgpipe's CPU and ${
          fmt(row.cost.bytesPerView / ours.cost.bytesPerView, 2)
        }× its bytes per view, ${dollars(row.cost.totalX86)} against ${dollars(ours.cost.totalX86)} (${
          row.cost.totalX86 >= ours.cost.totalX86 ? "+" : "−"
        }${fmt(Math.abs(row.cost.totalX86 / ours.cost.totalX86 - 1) * 100, 1)} %).`
      )
    }
  }
  // Other mixes (the resize section only): each method against imgpipe's baseline on that mix.
  const otherMixes = [...new Set(s.rows.map((r) => r.config.mix).filter((m) => m !== undefined))]
  for (const mix of otherMixes) {
    const rows = s.rows.filter((r) => r.config.mix === mix)
    const base = rows.find((r) => r.config.id === `resize:imgpipe:${mix}`)
    if (base === undefined) continue
    sentences.push(
      `On the \`${mix}\` mix (the resize section only; originals of ${
        fmtBytes(base.config.originalBytes)
      } on average, ` +
        `per accepted upload): imgpipe's baseline ${dollars(base.cost.totalX86)}${
          rows.filter((r) => r !== base).map((r) =>
            `, ${r.config.label.replace(`, ${mix} mix`, "")} ${dollars(r.cost.totalX86)} (${
              r.cost.totalX86 >= base.cost.totalX86 ? "+" : "−"
            }${fmt(Math.abs(r.cost.totalX86 / base.cost.totalX86 - 1) * 100, 1)} %)`
          ).join("")
        }.`
    )
  }
  return sentences.join(" ")
}

const unitPrice = (price: Price, per: number, unit: string): string => {
  const first = price.tiers[0]?.price ?? Number.NaN
  const last = price.tiers[price.tiers.length - 1]?.price ?? Number.NaN
  const show = (v: number) => `$${Number((v * per).toPrecision(6))}`
  return `${show(first)}${first === last ? "" : ` → ${show(last)}`} ${unit}`
}

const priceList = (): string =>
  [
    `Lambda ${unitPrice(PRICES.lambdaX86GbSecond, 1, "per GB-s")} x86_64, ${
      unitPrice(PRICES.lambdaArmGbSecond, 1, "per GB-s")
    } arm64, ${unitPrice(PRICES.lambdaRequest, 1e6, "per million requests")}`,
    `SQS ${unitPrice(PRICES.sqsRequest, 1e6, "per million requests")}`,
    `S3 Standard ${unitPrice(PRICES.s3StorageGbMonth, 1, "per GB-month")}, PUT/COPY ${
      unitPrice(PRICES.s3PutRequest, 1000, "per 1,000")
    }, GET ${unitPrice(PRICES.s3GetRequest, 1000, "per 1,000")}`,
    `CloudFront ${unitPrice(PRICES.cloudfrontTransferGb, 1, "per GB")} out, ${
      unitPrice(PRICES.cloudfrontHttpsRequest, 10_000, "per 10,000 HTTPS requests")
    }`
  ].join("; ")

export const costMarkdown = (s: CostSection): string => {
  const a = s.assumptions
  const clients = s.clients.map((c) => `${fmt(c.share * 100, 0)} % ${c.label}`).join(", ")
  const r = requestsPerImage({ extraObjects: 0 }, a.batches)
  if (s.rows.length === 0) {
    return [
      "Not computed: the cost model needs the resize and formats sections' results (run them in the same run, or",
      "pass `--from <results.json>` of an earlier `--json` run).",
      "",
      ...s.missing.map((m) => `- ${m.label}: ${m.reason}.`)
    ].join("\n")
  }
  const notes = [
    `Computed from the resize and formats sections' results of one run (nothing measured here). Dollars per million uploaded images`,
    `at ${
      fmt(a.imagesPerMonth / 1e6, 0)
    }M images a month (10M a day): each month's bill with the prices' volume tiers,`,
    `divided by the millions of images. Prices: packages/bench/src/cost/prices.ts, us-east-1 on demand, ${PRICES_DATE},`,
    `${PRICES_NOTE} (CloudFront North America/Europe; no free tier). Assumptions:`,
    "",
    `- **Lambda compute**: ProcessImage's three jobs' CPU seconds × ${a.memoryMb} MB (packages/infra/settings.ts). Lambda`,
    "  bills wall time; single-threaded work on the one vCPU of that memory runs wall ≈ CPU; S3 waits are left out.",
    "  arm64: the same seconds assumed (measured on x86_64 only). StartProcessing's compute is left out (~$0.25/M).",
    `- **Requests** per image (docs/aws-requests.md; full batches: StartProcessing ${a.batches.start}, ProcessImage ${a.batches.process.small} / ${a.batches.process.medium} / ${a.batches.process.large}):`,
    `  ${fmt(r.invocations, 2)} Lambda invocations, ${
      fmt(r.sqs, 2)
    } SQS requests, ${r.s3Gets} S3 GETs, ${r.s3Puts} S3 PUTs`,
    "  (the upload and three baselines) + one per stored extra (an extra is stored only when smaller).",
    "- **Storage**: the original and every stored rendition for one month, S3 Standard.",
    `- **Delivery**: ${a.viewsPerImage} views per image (\`--views N\`), ${fmt(a.viewMix.small * 100, 0)} % small, ${
      fmt(a.viewMix.medium * 100, 0)
    } % medium, ${fmt(a.viewMix.large * 100, 0)} % large;`,
    `  clients: ${clients}, each getting what \`chooseFormat\` picks for its \`Accept\`. Cache hit ratio ${
      fmt(a.cacheHitRatio * 100, 0)
    } %:`,
    "  each miss is one S3 GET (S3 → CloudFront transfer is free).",
    "- **naive sharp loop, ImageMagick**: the resize section's CPU and bytes, baseline only (no extras); that section",
    "  records the three outputs' total, split over the sizes as imgpipe's baseline of the same photo splits. Their",
    "  encoders differ from imgpipe's, and no similarity score is measured yet: their bytes are not at equal quality.",
    "",
    "Inputs per image (means weighted by the `photos` mix, or by the mix the row names):",
    "",
    inputsTable(s),
    "",
    "Cost per million uploaded images (**bold**: the cheapest on x86_64):",
    "",
    costTable(s),
    "",
    "![cost per million images, by part](benchmarks-cost.svg)",
    "",
    reading(s),
    ...(s.missing.length === 0 ? [] : ["", ...s.missing.map((m) => `- ${m.label}: not computed: ${m.reason}.`)]),
    "",
    `Unit prices (first tier → last): ${priceList()}.`
  ]
  return notes.join("\n")
}
