/**
 * The format-sets section's results and the pure arithmetic the report does on them: which
 * encoding a client downloads (core's `chooseFormat` on the browser's `Accept`), what an image stores, and mix-weighted means. No measuring here
 * (child.ts measures), so it is unit-tested on its own.
 */
import type { ExtraFormat, ImageSize, OutputFormat, SizeBoxes } from "@imgpipe/core"
import { chooseFormat } from "@imgpipe/core/domain/delivery"

/** The `IMGPIPE_FORMATS` values compared: baseline only, +WebP, +WebP+AVIF. */
export const FORMAT_SETS = ["none", "webp", "webp,avif"] as const
export type FormatSetId = (typeof FORMAT_SETS)[number]

/** One encoding of one size: its format and its bytes. */
export interface Encoded {
  readonly format: OutputFormat
  readonly bytes: number
}

/** One size of one photo as `Resizer.resize` made it. */
export interface SizeOutput {
  readonly size: ImageSize
  readonly width: number
  readonly height: number
  readonly baseline: Encoded
  readonly variants: ReadonlyArray<Encoded>
}

export interface FormatPhoto {
  readonly name: string
  readonly weight: number
  /** Median CPU ms (process user + system) of the three jobs (`probe` + `resize` each). */
  readonly cpuMs: number
  readonly repetitions: number
  readonly sizes: ReadonlyArray<SizeOutput>
  /** Whether the small job returned a placeholder. */
  readonly placeholder: boolean
}

/** One format set, measured in a fresh process. */
export interface FormatSetRun {
  readonly set: FormatSetId
  /** `Settings.formats` as the child read it from `IMGPIPE_FORMATS`. */
  readonly formats: ReadonlyArray<ExtraFormat>
  readonly photos: ReadonlyArray<FormatPhoto>
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>
  /** The process's resident memory after a warm-up (MiB) and its high-water mark (VmHWM, MiB). */
  readonly baselineRssMib: number
  readonly peakRssMib: number
  readonly seconds: number
}

/** One encoder setting at the large size, over the mix. */
export interface EncoderCandidate {
  readonly format: ExtraFormat
  readonly label: string
  /** Whether this is what `encoders.ts` uses. */
  readonly chosen: boolean
  /** Mix-weighted means per image at the large size. */
  readonly cpuMs: number
  readonly bytes: number
  /** Luma PSNR (dB) against the resized pixels it encoded, mix-weighted. */
  readonly psnr: number
}

export interface EncoderComparison {
  readonly candidates: ReadonlyArray<EncoderCandidate>
  readonly photos: number
}

export interface FormatsSection {
  readonly sizes: SizeBoxes
  readonly quick: boolean
  readonly runs: ReadonlyArray<FormatSetRun | { readonly set: FormatSetId; readonly error: string }>
  readonly encoders: EncoderComparison | { readonly error: string } | undefined
}

// ---- clients ----------------------------------------------------------------------------------

export interface ClientProfile {
  readonly id: "chrome" | "safari" | "old"
  readonly label: string
  /** The `Accept` header the browser sends for an `<img>`. */
  readonly accept: string
}

export const CLIENTS: ReadonlyArray<ClientProfile> = [
  {
    id: "chrome",
    label: "Chrome",
    accept: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
  },
  {
    id: "safari",
    label: "Safari ≥ 16",
    accept: "image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
  },
  {
    id: "old",
    label: "old browser",
    accept: "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
  }
]

/** The formats one size exists in: the baseline's first, then its extras. */
export const availableFormats = (size: SizeOutput): readonly [OutputFormat, ...ReadonlyArray<OutputFormat>] => [
  size.baseline.format,
  ...size.variants.map((v) => v.format)
]

/** What `client` downloads of `size` from `get_image` with no `format=`: core's own choice by `Accept`. */
export const downloadFormat = (client: ClientProfile, size: SizeOutput): OutputFormat =>
  chooseFormat({ accept: client.accept, requested: "auto", available: availableFormats(size) })

/** Bytes of `size` in `format` (the baseline when it is that format); undefined when not made. */
export const bytesIn = (size: SizeOutput, format: OutputFormat): number | undefined =>
  size.baseline.format === format ? size.baseline.bytes : size.variants.find((v) => v.format === format)?.bytes

/** Every object stored for one size: the baseline and each extra. */
export const storedBytes = (size: SizeOutput): number =>
  size.variants.reduce((s, v) => s + v.bytes, size.baseline.bytes)

export const downloadBytes = (client: ClientProfile, size: SizeOutput): number =>
  bytesIn(size, downloadFormat(client, size)) ?? size.baseline.bytes

// ---- mix-weighted means -----------------------------------------------------------------------

/** Mix-weighted mean of `value` over the items (photos) where it is a finite number; NaN when none is. */
export const weightedMean = <A extends { readonly weight: number }>(
  items: ReadonlyArray<A>,
  value: (item: A) => number | undefined
): number => {
  let total = 0
  let weight = 0
  for (const item of items) {
    const v = value(item)
    if (v === undefined || !Number.isFinite(v)) continue
    total += item.weight * v
    weight += item.weight
  }
  return weight === 0 ? Number.NaN : total / weight
}

const sizeOf = (photo: FormatPhoto, size: ImageSize | "all", pick: (s: SizeOutput) => number | undefined) => {
  const chosen = size === "all" ? photo.sizes : photo.sizes.filter((s) => s.size === size)
  let total = 0
  for (const s of chosen) {
    const v = pick(s)
    if (v === undefined) return undefined
    total += v
  }
  return chosen.length === 0 ? undefined : total
}

/** A run's mix-weighted means per image ("all": the three sizes together). */
export const runAggregate = (run: FormatSetRun, size: ImageSize | "all" = "all") => ({
  cpuMs: weightedMean(run.photos, (p) => p.cpuMs),
  stored: weightedMean(run.photos, (p) => sizeOf(p, size, storedBytes)),
  baseline: weightedMean(run.photos, (p) => sizeOf(p, size, (s) => s.baseline.bytes)),
  download: Object.fromEntries(
    CLIENTS.map((c) => [c.id, weightedMean(run.photos, (p) => sizeOf(p, size, (s) => downloadBytes(c, s)))])
  ) as Record<ClientProfile["id"], number>,
  /**
   * Bytes `get_image?format=<format>` serves, over every photo: the format where it was stored (WebP
   * includes an alpha image's WebP baseline), else what it falls back to (an extra not worth storing,
   * `worthStoring`, is not there), so the column compares with the baseline's over the same photos.
   */
  format: (format: OutputFormat) =>
    weightedMean(
      run.photos,
      (p) =>
        sizeOf(p, size, (s) =>
          bytesIn(s, chooseFormat({ accept: undefined, requested: format, available: availableFormats(s) })) ??
            s.baseline.bytes)
    )
})

export const isRun = (value: FormatsSection["runs"][number]): value is FormatSetRun => !("error" in value)
