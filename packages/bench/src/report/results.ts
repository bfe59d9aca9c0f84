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
import {
  aggregate,
  MAGICK_TARGET,
  type MethodId,
  mixesOf,
  ONE_DECODE_TARGET,
  type ResizeMix,
  type ResizeSection
} from "../resize/methods.js"
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
  /** Wall seconds per section run (absent in older results). */
  readonly sectionSeconds?: Readonly<Partial<Record<string, number>>>
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

export interface ResizeTargets {
  readonly oneDecode: { readonly ratio: number; readonly met: boolean } | undefined
  readonly magick: { readonly ratio: number; readonly met: boolean; readonly naiveRatio: number } | undefined
}

export interface Targets extends ResizeTargets {
  /** The resize targets on every mix measured (`photos` first: the same as `oneDecode` and `magick`). */
  readonly resizeByMix: ReadonlyArray<ResizeTargets & { readonly mix: string }>
  /** `share`: per CPU-second of the server when known (else wall req/s); `wallShare`: wall req/s. */
  readonly upload: { readonly share: number; readonly met: boolean; readonly wallShare: number } | undefined
}

/** Mix-weighted means of the `photos` mix, or of `mix` (one of the section's mixes). */
export const resizeAggregates = (resize: ResizeSection, mix?: ResizeMix) => {
  const withMagick = resize.imagemagick === undefined
    ? COMPARED
    : [...COMPARED, "imagemagick" as const, "imagemagickNaive" as const]
  return aggregate(mix ?? resize, [...withMagick, "fromLarge"])
}

/** The resize targets over one mix's means. */
export const resizeTargetsOf = (agg: ReturnType<typeof resizeAggregates>): ResizeTargets => {
  let oneDecode: ResizeTargets["oneDecode"]
  let magick: ResizeTargets["magick"]
  const imgpipe = agg.imgpipe?.cpuMs
  const one = agg.oneDecode?.cpuMs
  if (imgpipe !== undefined && one !== undefined) {
    oneDecode = { ratio: imgpipe / one, met: imgpipe / one <= ONE_DECODE_TARGET }
  }
  const im = agg.imagemagick?.cpuMs
  const imNaive = agg.imagemagickNaive?.cpuMs
  if (imgpipe !== undefined && im !== undefined && imNaive !== undefined) {
    magick = { ratio: im / imgpipe, met: im / imgpipe >= MAGICK_TARGET, naiveRatio: imNaive / imgpipe }
  }
  return { oneDecode, magick }
}

export const apiResult = (api: ApiSection, target: Target, endpoint: Endpoint) =>
  api.results.find((r) => r.target === target && r.endpoint === endpoint)

export const targetsOf = (results: Results): Targets => {
  let oneDecode: Targets["oneDecode"]
  let magick: Targets["magick"]
  let upload: Targets["upload"]
  let resizeByMix: Targets["resizeByMix"] = []
  if (results.resize !== undefined && !isError(results.resize)) {
    const resize = results.resize
    const photos = resizeTargetsOf(resizeAggregates(resize))
    oneDecode = photos.oneDecode
    magick = photos.magick
    resizeByMix = mixesOf(resize).map((mix) => ({ mix: mix.name, ...resizeTargetsOf(resizeAggregates(resize, mix)) }))
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
  return { oneDecode, magick, upload, resizeByMix }
}
