/**
 * The resize section's contenders and results: which ways of producing one photo's three
 * renditions are measured, what a measurement holds, and the mix-weighted means the report compares.
 */
import type { SizeBoxes } from "@imgpipe/core"

export type MethodId = "imgpipe" | "naive" | "oneDecode" | "imagemagick" | "imagemagickNaive" | "fromLarge"

export interface MethodInfo {
  readonly id: MethodId
  readonly label: string
  readonly description: string
  /** A variant measured to size a proposed change, not something the code does today. */
  readonly proposal: boolean
}

export const METHODS: ReadonlyArray<MethodInfo> = [
  {
    id: "imgpipe",
    label: "imgpipe ProcessImage (per-size jobs)",
    description:
      "three jobs, as the queues run them: each does `Resizer.probe` then `Resizer.resize` (header read, decode with shrink-on-load, auto-orient, sRGB, mozjpeg-style progressive JPEG / WebP)",
    proposal: false
  },
  {
    id: "naive",
    label: "naive sharp loop",
    description:
      "`sharp(input).rotate().resize(box, inside, no enlargement)` per size, default encoder settings (JPEG q80 baseline / WebP q80)",
    proposal: false
  },
  {
    id: "oneDecode",
    label: "sharp, one decode for all sizes",
    description:
      "one decode to raw pixels at the large size (shrink-on-load, auto-orient, sRGB), then the three sizes resized and encoded from those pixels with imgpipe's encoder settings",
    proposal: false
  },
  {
    id: "imagemagick",
    label: "ImageMagick convert (1 thread)",
    description:
      "one `convert` per image, one decode (`+clone … -write`), JPEG shrink-on-load hint (`-define jpeg:size`), `-auto-orient -strip`, q80 progressive JPEG / WebP",
    proposal: false
  },
  {
    id: "imagemagickNaive",
    label: "ImageMagick, one convert per size",
    description:
      "`convert input -auto-orient -strip -resize WxH> -quality 80 out` once per size (1 thread), as a shell script would",
    proposal: false
  },
  {
    id: "fromLarge",
    label: "proposal: medium/small from the large rendition",
    description:
      "the large job as today; the medium and small jobs resize the stored large rendition (≤ 2048 px JPEG/WebP) instead of the original, through the same Resizer",
    proposal: true
  }
]

export interface Measurement {
  /** Median CPU milliseconds for the three outputs of one image. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly outputBytes: number
  readonly repetitions: number
}

export interface PhotoResult {
  readonly name: string
  /** Its weight in the mix whose rows these are (a photo in two mixes has a row in each). */
  readonly weight: number
  readonly inputBytes: number
  readonly width: number
  readonly height: number
  /** CPU ms of one `Resizer.probe` (header read and checks). */
  readonly probeMs: number
  readonly byMethod: Partial<Record<MethodId, Measurement>>
  /** Why a method has no measurement for this photo. */
  readonly skipped: Partial<Record<MethodId, string>>
}

/** An upload of the mix that the service must refuse (the phone mix's HEIC declared as JPEG). */
export interface Refusal {
  readonly name: string
  readonly weight: number
  /** The content type the client declares. */
  readonly declared: string
  /** The error code the mix expects. */
  readonly expected: string
  /** What `Resizer.probe` answered: an error code, or undefined when it accepted the bytes. */
  readonly code: string | undefined
  /** CPU ms of that probe: all a refused upload costs ProcessImage. */
  readonly probeMs: number
}

/** One mix's rows: its accepted photos (with this mix's weights) and its expected refusals. */
export interface ResizeMix {
  readonly name: string
  readonly photos: ReadonlyArray<PhotoResult>
  readonly refused: ReadonlyArray<Refusal>
}

export interface ResizeSection {
  /** The `photos` mix's rows (the same as `mixes[0].photos`): the targets and the cost section read these. */
  readonly photos: ReadonlyArray<PhotoResult>
  /** Every mix measured, `photos` first; a photo in two mixes is measured once. Absent in older results. */
  readonly mixes?: ReadonlyArray<ResizeMix>
  readonly sizes: SizeBoxes
  readonly imagemagick: string | undefined
  readonly imagemagickMissing: string | undefined
}

/** The mixes of a section; results from before the phone mix hold the photos mix only. */
export const mixesOf = (section: ResizeSection): ReadonlyArray<ResizeMix> =>
  section.mixes ?? [{ name: "photos", photos: section.photos, refused: [] }]

/** The per-size path's target: ≤ this × sharp's one-decode cost for the same outputs. */
export const ONE_DECODE_TARGET = 1.3

/** ImageMagick's best single command should cost ≥ this × imgpipe's per-size path. */
export const MAGICK_TARGET = 4

/** The order in which every method produces the three sizes. */
export const ORDER = ["large", "medium", "small"] as const

/** One method applied to one photo's bytes; resolves with the bytes of its three outputs. */
export type Run = (bytes: Buffer) => Promise<number>

export interface MethodAggregate {
  /** Mix-weighted mean CPU ms per image over the photos every compared method measured. */
  readonly cpuMs: number
  readonly wallMs: number
  readonly outputBytes: number
  readonly photos: number
}

/**
 * Weighted means over the photos on which every method in `common` has a measurement: of a section
 * (its `photos` mix) or of one of its mixes.
 */
export const aggregate = (
  section: { readonly photos: ReadonlyArray<PhotoResult> },
  common: ReadonlyArray<MethodId>
): Partial<Record<MethodId, MethodAggregate>> => {
  const usable = section.photos.filter((p) => common.every((id) => p.byMethod[id] !== undefined))
  const totalWeight = usable.reduce((s, p) => s + p.weight, 0)
  const result: Partial<Record<MethodId, MethodAggregate>> = {}
  if (totalWeight === 0) return result
  for (const method of METHODS) {
    if (!usable.every((p) => p.byMethod[method.id] !== undefined)) continue
    const mean = (pick: (m: Measurement) => number) =>
      usable.reduce((s, p) => s + p.weight * pick(p.byMethod[method.id] as Measurement), 0) / totalWeight
    result[method.id] = {
      cpuMs: mean((m) => m.cpuMs),
      wallMs: mean((m) => m.wallMs),
      outputBytes: mean((m) => m.outputBytes),
      photos: usable.length
    }
  }
  return result
}

/**
 * Repetitions of one method on one photo: enough for `budgetMs` of CPU at the first sample's cost,
 * at least `min` (3 where the median matters: a photo that weighs in a mix) and at most `max`.
 */
export const repetitionsFor = (firstMs: number, budgetMs: number, min: number, max: number): number =>
  Math.max(min, Math.min(max, Math.ceil(budgetMs / Math.max(1, firstMs))))

/** The files whose weight is at least `share` of some mix's accepted weight: their medians matter. */
export const weightyPhotos = (
  mixes: ReadonlyArray<
    { readonly entries: ReadonlyArray<{ readonly name: string; readonly weight: number; readonly refused?: string }> }
  >,
  share: number
): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const mix of mixes) {
    const accepted = mix.entries.filter((e) => e.refused === undefined)
    const total = accepted.reduce((s, e) => s + e.weight, 0)
    for (const e of accepted) if (total > 0 && e.weight / total >= share) names.add(e.name)
  }
  return names
}

/**
 * CPU ms per uploaded image of one method over a whole mix, refusals included: the accepted photos'
 * weighted mean (over the photos the method measured) and, for each refusal, its header read. NaN
 * when the method measured no photo of the mix.
 */
export const perUpload = (mix: ResizeMix, id: MethodId): number => {
  const measured = mix.photos.filter((p) => p.byMethod[id] !== undefined)
  const acceptedWeight = measured.reduce((s, p) => s + p.weight, 0)
  if (acceptedWeight === 0) return Number.NaN
  const refusedWeight = mix.refused.reduce((s, r) => s + r.weight, 0)
  const cost = measured.reduce((s, p) => s + p.weight * (p.byMethod[id]?.cpuMs ?? 0), 0) +
    mix.refused.reduce((s, r) => s + r.weight * r.probeMs, 0)
  return cost / (acceptedWeight + refusedWeight)
}
