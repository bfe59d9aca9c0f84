/**
 * The configurations the cost model compares, built from the other sections' results (no new
 * measurement): each IMGPIPE_FORMATS set from the formats section (CPU of the three jobs, bytes
 * per size and format as stored, what each client downloads through core's `chooseFormat`), and
 * the naive sharp loop and ImageMagick's best single command from the resize section (baseline
 * only). A configuration whose section was not run (or failed) is listed as missing, with why.
 */
import type { ImageSize, OutputFormat } from "@imgpipe/core"
import { formatsConfig } from "@imgpipe/core/config/settings"
import { chooseFormat } from "@imgpipe/core/domain/delivery"
import { ConfigProvider, Effect } from "effect"
import {
  availableFormats,
  bytesIn,
  CLIENTS,
  type FormatPhoto,
  type FormatSetId,
  type FormatSetRun,
  type FormatsSection,
  isRun,
  type SizeOutput,
  storedBytes,
  weightedMean
} from "../formats/model.js"
import { type MethodId, mixesOf, type PhotoResult, type ResizeSection } from "../resize/methods.js"
import { type Configuration, SIZES } from "./model.js"

/** A share of the views and the `Accept` header its browsers send for an `<img>`. */
export interface ClientShare {
  readonly label: string
  readonly accept: string
  readonly share: number
}

const accept = (id: (typeof CLIENTS)[number]["id"]): string => CLIENTS.find((c) => c.id === id)?.accept ?? ""

/**
 * docs/deploy.md's client mix: ~90 % of views from browsers naming AVIF and WebP, ~5 % WebP only,
 * ~5 % neither. The 70/20 split between Chrome-like and Safari changes nothing: both get AVIF when
 * it is stored, WebP otherwise.
 */
export const CLIENT_MIX: ReadonlyArray<ClientShare> = [
  { label: "Chrome, Edge, Firefox", accept: accept("chrome"), share: 0.7 },
  { label: "Safari ≥ 16", accept: accept("safari"), share: 0.2 },
  { label: "WebP-only browsers (Chrome < 85)", accept: "image/webp,image/apng,image/*,*/*;q=0.8", share: 0.05 },
  { label: "neither (old browsers)", accept: accept("old"), share: 0.05 }
]

/** What one view of `size` downloads, averaged over `clients`: core's own choice by `Accept`. */
export const meanViewBytes = (size: SizeOutput, clients: ReadonlyArray<ClientShare> = CLIENT_MIX): number =>
  clients.reduce((s, c) => {
    const format: OutputFormat = chooseFormat({
      accept: c.accept,
      requested: "auto",
      available: availableFormats(size)
    })
    return s + c.share * (bytesIn(size, format) ?? size.baseline.bytes)
  }, 0)

/** The set `IMGPIPE_FORMATS` means when unset: core's default, read from its Config with no environment. */
export const shippedFormatSet = (): string => {
  const formats = Effect.runSync(Effect.withConfigProvider(formatsConfig, ConfigProvider.fromMap(new Map())))
  return formats.length === 0 ? "none" : formats.join(",")
}

const sizeOf = (photo: FormatPhoto, size: ImageSize): SizeOutput | undefined => photo.sizes.find((s) => s.size === size)

export interface Missing {
  readonly label: string
  readonly reason: string
}

export interface ConfigurationsInput {
  readonly resize: ResizeSection | { readonly error: string } | undefined
  readonly formats: FormatsSection | { readonly error: string } | undefined
  /** Bytes of a mix photo's original, by file name (the fixture's size). */
  readonly inputBytes: (name: string) => number | undefined
  /** The set as shipped (`shippedFormatSet()`). */
  readonly shipped: string
  readonly clients?: ReadonlyArray<ClientShare>
}

const setLabel = (set: FormatSetId, shipped: string): string =>
  `imgpipe, IMGPIPE_FORMATS=${set}${set === shipped ? " (as shipped)" : ""}`

const fromFormatsRun = (run: FormatSetRun, input: ConfigurationsInput): Configuration => {
  const photos = run.photos
  const clients = input.clients ?? CLIENT_MIX
  const viewBytes = Object.fromEntries(
    SIZES.map((size) => {
      const bytes = weightedMean(photos, (p) => {
        const s = sizeOf(p, size)
        return s === undefined ? undefined : meanViewBytes(s, clients)
      })
      return [size, bytes]
    })
  ) as Record<ImageSize, number>
  return {
    id: `formats:${run.set}`,
    label: setLabel(run.set, input.shipped),
    source: "formats section",
    cpuSeconds: weightedMean(photos, (p) => p.cpuMs) / 1000,
    originalBytes: weightedMean(photos, (p) => input.inputBytes(p.name)),
    storedBytes: weightedMean(photos, (p) => p.sizes.reduce((s, size) => s + storedBytes(size), 0)),
    extraObjects: weightedMean(photos, (p) => p.sizes.reduce((s, size) => s + size.variants.length, 0)),
    viewBytes
  }
}

/**
 * A resize-section method (baseline only) over one mix's photos: its CPU and its three outputs'
 * bytes per photo. That section records the three outputs' total only, so each photo's total is
 * split over the sizes as imgpipe's baseline of the same photo splits (the formats section's `none`
 * run), or, for a photo that run did not measure (another mix's), as it splits on average.
 */
const fromResizeMethod = (
  id: MethodId,
  label: string,
  mix: { readonly name: string; readonly photos: ReadonlyArray<PhotoResult> },
  none: FormatSetRun
): Configuration | Missing => {
  const shares = (p: FormatPhoto) => {
    const total = p.sizes.reduce((s, size) => s + size.baseline.bytes, 0)
    return (size: ImageSize) => (sizeOf(p, size)?.baseline.bytes ?? Number.NaN) / total
  }
  const split = new Map(none.photos.map((p) => [p.name, shares(p)] as const))
  const meanShare = Object.fromEntries(
    SIZES.map((size) => [size, weightedMean(none.photos, (p) => shares(p)(size))])
  ) as Record<ImageSize, number>
  const photos = mix.photos.filter((p) => p.byMethod[id] !== undefined)
  if (photos.length === 0) {
    const reasons = [...new Set(mix.photos.map((p) => p.skipped[id]).filter((r) => r !== undefined))]
    return { label, reason: reasons.length > 0 ? reasons.join("; ") : "no photo measured" }
  }
  const averaged = photos.some((p) => !split.has(p.name))
  const out = (p: PhotoResult) => p.byMethod[id]?.outputBytes
  const share = (p: PhotoResult, size: ImageSize) => split.get(p.name)?.(size) ?? meanShare[size]
  return {
    id: mix.name === "photos" ? `resize:${id}` : `resize:${id}:${mix.name}`,
    label,
    source: `resize section (bytes per size: imgpipe's ${averaged ? "mean " : ""}split)`,
    cpuSeconds: weightedMean(photos, (p) => p.byMethod[id]?.cpuMs) / 1000,
    originalBytes: weightedMean(photos, (p) => p.inputBytes),
    storedBytes: weightedMean(photos, out),
    extraObjects: 0,
    viewBytes: Object.fromEntries(
      SIZES.map((size) => [size, weightedMean(photos, (p) => (out(p) ?? Number.NaN) * share(p, size))])
    ) as Record<ImageSize, number>,
    ...(mix.name === "photos" ? {} : { mix: mix.name })
  }
}

const RESIZE_METHODS: ReadonlyArray<{ readonly id: MethodId; readonly label: string }> = [
  { id: "imgpipe", label: "imgpipe, baseline only (resize section)" },
  { id: "naive", label: "naive sharp loop (default encoders)" },
  { id: "imagemagick", label: "ImageMagick, best single command" }
]

const isError = (value: unknown): value is { readonly error: string } =>
  typeof value === "object" && value !== null && "error" in value

export const configurations = (
  input: ConfigurationsInput
): { readonly configs: ReadonlyArray<Configuration>; readonly missing: ReadonlyArray<Missing> } => {
  const configs: Array<Configuration> = []
  const missing: Array<Missing> = []
  const { formats, resize } = input
  let none: FormatSetRun | undefined
  if (formats === undefined || isError(formats)) {
    const why = formats === undefined
      ? "the formats section was not run"
      : `the formats section failed: ${formats.error}`
    missing.push({ label: "imgpipe, every IMGPIPE_FORMATS set", reason: why })
  } else {
    for (const run of formats.runs) {
      if (!isRun(run)) {
        missing.push({ label: setLabel(run.set, input.shipped), reason: `its formats run failed: ${run.error}` })
        continue
      }
      if (run.formats.length === 0) none = run
      configs.push(fromFormatsRun(run, input))
    }
  }
  const mixes = resize === undefined || isError(resize) ? [] : mixesOf(resize)
  for (const mix of mixes.length === 0 ? [{ name: "photos", photos: [] }] : mixes) {
    const suffix = mix.name === "photos" ? "" : `, ${mix.name} mix`
    for (const method of RESIZE_METHODS) {
      const label = `${method.label}${suffix}`
      if (resize === undefined || isError(resize)) {
        missing.push({
          label,
          reason: resize === undefined ? "the resize section was not run" : `the resize section failed: ${resize.error}`
        })
      } else if (method.id === "imagemagick" && resize.imagemagickMissing !== undefined) {
        missing.push({ label, reason: resize.imagemagickMissing })
      } else if (none === undefined) {
        missing.push({
          label,
          reason: "its bytes per size come from the formats section's `none` run, which is missing"
        })
      } else {
        const built = fromResizeMethod(method.id, label, mix, none)
        if ("reason" in built) missing.push(built)
        else if (method.id === "imgpipe" && mix.name === "photos") {
          configs.push({ ...built, duplicateOf: "formats:none" })
        } else configs.push(built)
      }
    }
  }
  return { configs, missing }
}
