/**
 * The extras' encoder settings side by side at the large size: each photo of the mix is decoded and
 * resized once (resize/runs.ts `decodeToRaw`), then encoded by each candidate from those pixels,
 * timed in CPU of this process (one libvips thread), and decoded back for a luma PSNR against the
 * pixels it was given: bytes alone do not say what a setting costs in quality.
 */
import type { ExtraFormat, SizeBox } from "@imgpipe/core"
import { AVIF_OPTIONS, WEBP_EXTRA_OPTIONS } from "@imgpipe/core/resizer/encoders"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import sharp, { type AvifOptions, type WebpOptions } from "sharp"
import { decodeToRaw, type RawPixels } from "../resize/runs.js"
import { fixturesDir, fmt, median, type MixEntry, progress } from "../util.js"
import type { EncoderCandidate, EncoderComparison } from "./model.js"

interface Candidate {
  readonly format: ExtraFormat
  readonly options: AvifOptions | WebpOptions
  readonly chosen: boolean
}

/**
 * What encoders.ts uses for each extra, and its neighbours: quality 5 lower and higher, and the
 * next lower and higher effort (sharp's scale: WebP 0–6, AVIF 0–9). Built from the exported settings,
 * so the table follows whatever encoders.ts chooses.
 */
export const candidates = (): ReadonlyArray<Candidate> => {
  const around = (
    format: ExtraFormat,
    chosen: AvifOptions | WebpOptions,
    maxEffort: number
  ): ReadonlyArray<Candidate> => {
    const quality = chosen.quality ?? (format === "avif" ? 50 : 80)
    const effort = chosen.effort ?? 4
    const variants: ReadonlyArray<AvifOptions | WebpOptions> = [
      { ...chosen, quality: quality - 5 },
      { ...chosen, quality: quality + 5 },
      ...(effort > 0 ? [{ ...chosen, effort: effort - 1 }] : []),
      ...(effort < maxEffort ? [{ ...chosen, effort: effort + 1 }] : [])
    ]
    return [
      { format, options: chosen, chosen: true },
      ...variants.map((options) => ({ format, options, chosen: false }))
    ]
  }
  return [...around("webp", WEBP_EXTRA_OPTIONS, 6), ...around("avif", AVIF_OPTIONS, 9)]
}

export const candidateLabel = (c: Candidate): string => {
  const o = c.options
  const chroma = "chromaSubsampling" in o && o.chromaSubsampling !== undefined ? ` ${o.chromaSubsampling}` : ""
  return `${c.format === "avif" ? "AVIF" : "WebP"} q${o.quality ?? "default"} effort ${o.effort ?? "default"}${chroma}`
}

/** Rec. 601 luma of pixel `i` in a raw buffer of `channels` bands (1–2: grey, 3–4: RGB). */
const luma = (data: Buffer, channels: number, i: number): number => {
  const at = i * channels
  if (channels < 3) return data[at] ?? 0
  return 0.299 * (data[at] ?? 0) + 0.587 * (data[at + 1] ?? 0) + 0.114 * (data[at + 2] ?? 0)
}

/** Luma PSNR (dB) of two same-sized raw images; Infinity when identical. */
export const lumaPsnr = (
  a: { readonly data: Buffer; readonly channels: number },
  b: { readonly data: Buffer; readonly channels: number },
  pixels: number
): number => {
  let sum = 0
  for (let i = 0; i < pixels; i++) {
    const d = luma(a.data, a.channels, i) - luma(b.data, b.channels, i)
    sum += d * d
  }
  const mse = sum / pixels
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse)
}

const encode = (pixels: RawPixels, candidate: Candidate): Promise<Buffer> => {
  const image = sharp(pixels.data, { raw: pixels.raw })
  return candidate.format === "avif"
    ? image.avif(candidate.options as AvifOptions).toBuffer()
    : image.webp(candidate.options as WebpOptions).toBuffer()
}

export const compareEncoders = async (options: {
  readonly mix: ReadonlyArray<MixEntry>
  readonly box: SizeBox
  /** One sample per setting instead of up to three. */
  readonly quick: boolean
}): Promise<EncoderComparison> => {
  sharp.cache(false)
  sharp.concurrency(1)
  const tried = candidates()
  const sums = tried.map(() => ({ cpuMs: 0, bytes: 0, psnr: 0 }))
  let weight = 0
  let photos = 0
  for (const entry of options.mix) {
    const path = join(fixturesDir, entry.name)
    if (!existsSync(path)) continue
    const pixels = await decodeToRaw(readFileSync(path), options.box)
    // An image with alpha keeps WebP as its baseline: only AVIF is an extra for it, but the
    // comparison is about the encoders, so it runs every candidate alike.
    const count = pixels.raw.width * pixels.raw.height
    const parts: Array<string> = []
    for (const [i, candidate] of tried.entries()) {
      const timedEncode = async () => {
        const cpu = process.cpuUsage()
        const out = await encode(pixels, candidate)
        const used = process.cpuUsage(cpu)
        return { out, cpuMs: (used.user + used.system) / 1000 }
      }
      const { cpuMs: firstMs, out } = await timedEncode()
      // Up to 3 samples within about 600 ms of CPU: one for a slow AVIF, three for a fast WebP.
      const repetitions = options.quick ? 1 : Math.min(3, Math.max(1, Math.ceil(600 / Math.max(1, firstMs))))
      const samples = [firstMs]
      for (let r = 1; r < repetitions; r++) samples.push((await timedEncode()).cpuMs)
      const cpuMs = median(samples)
      const back = await sharp(out).raw().toBuffer({ resolveWithObject: true })
      const psnr = lumaPsnr(
        { data: pixels.data, channels: pixels.raw.channels },
        { data: back.data, channels: back.info.channels },
        count
      )
      const sum = sums[i]
      if (sum === undefined) continue
      sum.cpuMs += entry.weight * cpuMs
      sum.bytes += entry.weight * out.byteLength
      sum.psnr += entry.weight * Math.min(psnr, 99)
      parts.push(`${candidateLabel(candidate)}: ${fmt(cpuMs, 0)} ms ${out.byteLength} B`)
    }
    weight += entry.weight
    photos++
    progress(`formats encoders: ${entry.name} at ${options.box.width}: ${parts.join("; ")}`)
  }
  if (weight === 0) throw new Error("no photo of the mix is in the fixtures")
  const results: Array<EncoderCandidate> = tried.map((candidate, i) => ({
    format: candidate.format,
    label: candidateLabel(candidate),
    chosen: candidate.chosen,
    cpuMs: (sums[i]?.cpuMs ?? Number.NaN) / weight,
    bytes: (sums[i]?.bytes ?? Number.NaN) / weight,
    psnr: (sums[i]?.psnr ?? Number.NaN) / weight
  }))
  return { candidates: results, photos }
}
