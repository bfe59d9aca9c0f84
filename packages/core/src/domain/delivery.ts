/**
 * How `get_image` picks the encoding it serves (pure, browser-safe). The baseline (JPEG, or WebP for
 * an image with alpha) always decodes; an extra (WebP, AVIF) is served only to a client that named
 * it, so a crawler or an old client accepting anything (the full wildcard) never gets a format it may not read.
 */
import { Schema } from "effect"
import type { OutputFormat } from "./formats.js"

/** `get_image?format=`: an encoding, or `auto` (by `Accept`, the default). `jpeg` means the baseline. */
export const RequestedFormat = Schema.Literal("jpeg", "webp", "avif", "auto")
export type RequestedFormat = typeof RequestedFormat.Type

/**
 * `IMGPIPE_DELIVERY`: `cdn` redirects renditions to stable unsigned URLs (`${IMGPIPE_CDN_URL}/<key>`);
 * `signed` to presigned, expiring ones. Originals are signed either way.
 */
export const DeliveryMode = Schema.Literal("cdn", "signed")
export type DeliveryMode = typeof DeliveryMode.Type

/** Media types of the extras, as `Accept` names them. */
const MEDIA_TYPE: Readonly<Record<OutputFormat, string>> = {
  jpeg: "image/jpeg",
  webp: "image/webp",
  avif: "image/avif"
}

/** Among extras the client weighs equally, the smaller encoding first. */
const PREFERENCE: ReadonlyArray<OutputFormat> = ["avif", "webp"]

/** A q-value as RFC 9110 allows it (0 to 1, up to three decimals; leniently any decimal ≤ 1). */
const Q_VALUE = /^(?:\d+(?:\.\d*)?|\.\d+)$/

/**
 * The q-value `accept` gives each media type it names exactly (lower-cased, parameters other than
 * `q` ignored). A range whose q is malformed (`q=abc`, `q=2`) is ignored, as if absent: the baseline
 * is then served, which every client decodes. A type named twice keeps its lowest q (a refusal
 * anywhere stands). Wildcards (the full one, `image/*`) name nothing.
 */
export const explicitQValues = (accept: string): ReadonlyMap<string, number> => {
  const named = new Map<string, number>()
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";").map((part) => part.trim().toLowerCase())
    if (type === "" || type.includes("*")) continue
    let q = 1
    let valid = true
    for (const param of params) {
      const [name = "", value = ""] = param.split("=").map((part) => part.trim())
      if (name !== "q") continue
      const number = Number(value)
      valid = Q_VALUE.test(value) && number <= 1
      q = number
      break
    }
    if (!valid) continue
    named.set(type, Math.min(q, named.get(type) ?? 1))
  }
  return named
}

export interface ChooseFormatInput {
  /** The request's `Accept` header, if any. */
  readonly accept?: string | undefined
  readonly requested: RequestedFormat
  /** The encodings stored: the baseline's format first, then the extras'. Never empty. */
  readonly available: readonly [OutputFormat, ...ReadonlyArray<OutputFormat>]
}

/**
 * The encoding to serve, one of `available`:
 * - `jpeg`: the baseline (WebP for an image with alpha).
 * - `webp`, `avif`: that encoding if stored; a missing AVIF falls back to WebP (every client that
 *   decodes AVIF decodes WebP), then to the baseline; never a 404.
 * - `auto`: the extras `Accept` names explicitly with q > 0, the highest q winning, AVIF before WebP
 *   on a tie; an extra wins only over a baseline named with a strictly higher q. Nothing named, or
 *   only wildcards → the baseline.
 */
export const chooseFormat = ({ accept, available, requested }: ChooseFormatInput): OutputFormat => {
  const [baseline] = available
  const stored = (format: OutputFormat) => available.includes(format)
  switch (requested) {
    case "jpeg":
      return baseline
    case "webp":
      return stored("webp") ? "webp" : baseline
    case "avif":
      return stored("avif") ? "avif" : stored("webp") ? "webp" : baseline
    case "auto": {
      if (accept === undefined) return baseline
      const named = explicitQValues(accept)
      let best: { readonly format: OutputFormat; readonly q: number } | undefined
      for (const format of PREFERENCE) {
        const q = named.get(MEDIA_TYPE[format]) ?? 0
        if (q > 0 && stored(format) && (best === undefined || q > best.q)) best = { format, q }
      }
      if (best === undefined) return baseline
      const baselineQ = named.get(MEDIA_TYPE[baseline])
      return baselineQ !== undefined && baselineQ > best.q ? baseline : best.format
    }
  }
}
