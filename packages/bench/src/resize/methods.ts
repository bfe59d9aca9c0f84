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

export interface ResizeSection {
  readonly photos: ReadonlyArray<PhotoResult>
  readonly sizes: SizeBoxes
  readonly imagemagick: string | undefined
  readonly imagemagickMissing: string | undefined
}

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

/** Weighted means over the photos on which every method in `common` has a measurement. */
export const aggregate = (
  section: ResizeSection,
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
