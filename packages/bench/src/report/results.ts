/**
 * The results of one `bun run bench` run, as the report reads them, and the targets they are
 * judged against. Everything in the documents is computed from this run; nothing is typed in by hand.
 */
import type { ApiSection, Endpoint, Target } from "../api.js"
import type { CostSection } from "../cost/section.js"
import type { FormatsSection } from "../formats/model.js"
import type { LambdaSection } from "../lambda.js"
import type { MemorySection } from "../memory.js"
import type { PipelineSection } from "../pipeline.js"
import { aggregate, type MethodId, type ResizeSection } from "../resize/methods.js"
import type { SseSection } from "../sse.js"
import type { WebhookSection } from "../webhooks.js"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly sharp: string
  readonly vips: string
  readonly imagemagick: string
  readonly loadBefore: string
  readonly loadAfter: string
  readonly date: string
}

export interface Results {
  readonly machine: Machine
  readonly seconds: number
  readonly resize: ResizeSection | { readonly error: string } | undefined
  readonly pipeline: PipelineSection | { readonly error: string } | undefined
  readonly api: ApiSection | { readonly error: string } | undefined
  readonly lambda: LambdaSection | { readonly error: string } | undefined
  readonly memory?: MemorySection | { readonly error: string } | undefined
  readonly webhooks?: WebhookSection | { readonly error: string } | undefined
  readonly sse?: SseSection | { readonly error: string } | undefined
  readonly formats?: FormatsSection | { readonly error: string } | undefined
  /** Computed from resize and formats (cost/section.ts), not measured. */
  readonly cost?: CostSection | { readonly error: string } | undefined
}

export const isError = (value: unknown): value is { readonly error: string } =>
  typeof value === "object" && value !== null && "error" in value

/** The methods the targets compare; ratios are over the photos all of them measured. */
const COMPARED: ReadonlyArray<MethodId> = ["imgpipe", "oneDecode", "naive"]

export interface Targets {
  readonly oneDecode: { readonly ratio: number; readonly met: boolean } | undefined
  readonly magick: { readonly ratio: number; readonly met: boolean; readonly naiveRatio: number } | undefined
  /** `share`: per CPU-second of the server when known (else wall req/s); `wallShare`: wall req/s. */
  readonly upload: { readonly share: number; readonly met: boolean; readonly wallShare: number } | undefined
}

export const resizeAggregates = (resize: ResizeSection) => {
  const withMagick = resize.imagemagick === undefined
    ? COMPARED
    : [...COMPARED, "imagemagick" as const, "imagemagickNaive" as const]
  return aggregate(resize, [...withMagick, "fromLarge"])
}

export const apiResult = (api: ApiSection, target: Target, endpoint: Endpoint) =>
  api.results.find((r) => r.target === target && r.endpoint === endpoint)

export const targetsOf = (results: Results): Targets => {
  let oneDecode: Targets["oneDecode"]
  let magick: Targets["magick"]
  let upload: Targets["upload"]
  if (results.resize !== undefined && !isError(results.resize)) {
    const agg = resizeAggregates(results.resize)
    const imgpipe = agg.imgpipe?.cpuMs
    const one = agg.oneDecode?.cpuMs
    if (imgpipe !== undefined && one !== undefined) oneDecode = { ratio: imgpipe / one, met: imgpipe / one <= 1.3 }
    const im = agg.imagemagick?.cpuMs
    const imNaive = agg.imagemagickNaive?.cpuMs
    if (imgpipe !== undefined && im !== undefined && imNaive !== undefined) {
      magick = { ratio: im / imgpipe, met: im / imgpipe >= 4, naiveRatio: imNaive / imgpipe }
    }
  }
  if (results.api !== undefined && !isError(results.api)) {
    const ours = apiResult(results.api, "imgpipe", "upload")
    const bare = apiResult(results.api, "bare", "upload")
    if (ours !== undefined && bare !== undefined) {
      const share = ours.perCpuSecond !== undefined && bare.perCpuSecond !== undefined
        ? ours.perCpuSecond / bare.perCpuSecond
        : ours.result.requestsPerSecond / bare.result.requestsPerSecond
      upload = { share, met: share >= 0.5, wallShare: ours.result.requestsPerSecond / bare.result.requestsPerSecond }
    }
  }
  return { oneDecode, magick, upload }
}
