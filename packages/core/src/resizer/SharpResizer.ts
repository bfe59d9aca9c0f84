import { Config, type ConfigError, type Context, Effect, Layer, Option } from "effect"
import sharp, { type Metadata } from "sharp"
import { Settings } from "../config.js"
import type { InvalidImage } from "../domain/errors.js"
import { OUTPUT_CONTENT_TYPES } from "../domain/formats.js"
import type { SizeBox } from "../domain/sizes.js"
import { type ResizedImage, type ResizeOptions, Resizer } from "../services/Resizer.js"
import { baselineFormat, encodeBaseline, encodeExtra, type Pixels } from "./encoders.js"
import { baseInputOptions, inspect, type Inspected } from "./inspect.js"
import { type DecodeBudgetService, DecodeMemoryBudget, DecodeMemoryBudgetLive, MIB } from "./memoryBudget.js"
import { estimateResizeBytes } from "./memoryEstimate.js"
import { makePlaceholder } from "./placeholder.js"
import { fromSharpError, invalid } from "./sharpErrors.js"

/*
 * The Resizer on sharp (libvips).
 *
 * Every call goes through the same gate, `inspect` (inspect.ts): a magic-number sniff in plain JS
 * (sniff.ts), then sharp's header read for the real format, the dimensions and the pixel limit.
 * `resize` runs the gate too (a header read costs well under 1 ms, even on a 20 MP JPEG) because it
 * must refuse bad content on its own and it needs the header to choose the output format before the
 * one decode. The decode itself runs inside the process's memory budget (memoryBudget.ts), sized from
 * the header by memoryEstimate.ts. It yields raw 8-bit sRGB pixels once; the baseline and every
 * extra format are encoded from them as encoders.ts says, and the placeholder (placeholder.ts) is
 * made from them too.
 */

type Service = Context.Tag.Service<Resizer>

// ---- resize -----------------------------------------------------------------------------------

const isGrey = (metadata: Metadata): boolean => metadata.space === "b-w" || metadata.space === "grey16"

/**
 * The one decode: auto-oriented, fitted inside the box, sRGB, 8-bit, as raw pixels every encoder
 * then reads (encoders.ts). 1 band for opaque grey input, 3 for opaque colour, 4 with alpha.
 */
const decode = async (bytes: Uint8Array, box: SizeBox, inspected: Inspected, maxPixels: number): Promise<Pixels> => {
  const { info, metadata } = inspected
  const pipeline = sharp(bytes, {
    ...baseInputOptions,
    // Second guard after the header check: libvips refuses to start a larger decode.
    limitInputPixels: maxPixels,
    // EXIF orientation first, so the box applies to the displayed image; sharp folds the rotation
    // into its plan and still shrinks on load.
    autoOrient: true
  })
    // Directly after the load so that shrink-on-load applies. `inside` keeps the aspect ratio;
    // never upscale. Resizing happens on premultiplied alpha (sharp's default), so transparent
    // pixels do not bleed dark fringes into their neighbours; the raw output is straight alpha.
    .resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
  // No `withMetadata`/`keepIccProfile`: sharp converts from the embedded ICC profile (CMYK,
  // Display P3, …) to sRGB, and `depth: "uchar"` reduces 16-bit to 8-bit. The encoders write no
  // EXIF, XMP, IPTC or ICC: untagged output is read as sRGB everywhere, which is what it is.
  // `removeAlpha` only matters for opaque GIFs, which libvips loads with an all-opaque alpha band;
  // grey stays one band (sharp would otherwise convert it to sRGB).
  const opaque = info.hasAlpha ? pipeline : pipeline.removeAlpha()
  const shaped = !info.hasAlpha && isGrey(metadata) ? opaque.toColourspace("b-w") : opaque
  const { data, info: out } = await shaped.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true })
  const channels = out.channels
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new Error(`unexpected ${channels}-band pixels after the decode`)
  }
  return { data, width: out.width, height: out.height, channels }
}

/** A libvips step; whatever it rejects with becomes `InvalidImage` (sharpErrors.ts), as before. */
const vips = <A>(name: string, attributes: Record<string, unknown>, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: fromSharpError }).pipe(Effect.withSpan(name, { attributes }))

/**
 * Decode once, then encode the baseline and each extra from the same pixels, one after another (the
 * memory estimate counts one encoder at a time), then the placeholder when asked.
 */
const render = (
  bytes: Uint8Array,
  box: SizeBox,
  inspected: Inspected,
  maxPixels: number,
  options: ResizeOptions
): Effect.Effect<ResizedImage, InvalidImage> =>
  Effect.gen(function* () {
    const pixels = yield* vips("Resizer.decode", {}, () => decode(bytes, box, inspected, maxPixels))
    const { width, height } = pixels
    const baseline = yield* vips(
      "Resizer.encode",
      { format: baselineFormat(pixels.channels === 4), width, height },
      () => encodeBaseline(pixels)
    )
    const extras = (options.formats ?? []).filter((format) => format !== baseline.format)
    const variants = yield* Effect.forEach(
      extras,
      (format) => vips("Resizer.encode", { format, width, height }, () => encodeExtra(pixels, format))
    )
    const placeholder = options.placeholder === true
      ? Option.some(yield* vips("Resizer.placeholder", {}, () => makePlaceholder(pixels)))
      : Option.none()
    return {
      data: baseline.data,
      format: baseline.format,
      contentType: OUTPUT_CONTENT_TYPES[baseline.format],
      width,
      height,
      variants,
      placeholder
    }
  })

/** What resizing this image into `box` will hold at its peak, from the header alone. */
const estimateOf = (bytes: Uint8Array, { info, metadata }: Inspected, box: SizeBox, options: ResizeOptions): number =>
  estimateResizeBytes(
    {
      format: info.format,
      width: info.width,
      height: info.height,
      bands: metadata.channels,
      depth: metadata.depth,
      hasAlpha: info.hasAlpha,
      inputBytes: bytes.byteLength
    },
    box,
    options.formats ?? []
  )

/** The estimate the budget uses for resizing `bytes` into `box` (for the bench and the tests). */
export const estimateResizeMemory = (
  bytes: Uint8Array,
  box: SizeBox,
  maxPixels: number,
  options: ResizeOptions = {}
): Effect.Effect<number, InvalidImage> =>
  Effect.map(inspect(bytes, maxPixels), (inspected) => estimateOf(bytes, inspected, box, options))

/**
 * The one decode, inside the memory budget: it waits until its estimate fits beside the decodes
 * running now, and an image whose estimate exceeds the whole budget is refused before any pixel
 * is decoded (retrying could never help: it is permanent, like the pixel limit).
 */
const renderWithinBudget = (
  bytes: Uint8Array,
  box: SizeBox,
  inspected: Inspected,
  maxPixels: number,
  budget: DecodeBudgetService,
  options: ResizeOptions
): Effect.Effect<ResizedImage, InvalidImage> => {
  const estimateMib = Math.ceil(estimateOf(bytes, inspected, box, options) / MIB)
  const { info } = inspected
  if (estimateMib > budget.capacityMib) {
    return Effect.fail(invalid(
      "too_large_to_decode",
      `The ${info.format.toUpperCase()} image (${info.width}×${info.height}) would need about ${estimateMib} MiB to ` +
        `decode, more than the ${budget.capacityMib} MiB a worker has for it; send fewer pixels, or a format that ` +
        `decodes in less memory (JPEG, WebP, PNG)`
    ))
  }
  return Effect.annotateCurrentSpan("estimate_mib", estimateMib).pipe(
    // sharp runs the decode and the encodes on libuv's thread pool; the fiber only waits for them.
    // Sync throws (bad options) are caught by `tryPromise` as well.
    Effect.zipRight(budget.withReservation(estimateMib)(render(bytes, box, inspected, maxPixels, options)))
  )
}

/** The Resizer for a given pixel limit and decode memory budget. */
export const makeSharpResizer = (options: {
  readonly maxPixels: number
  readonly budget: DecodeBudgetService
}): Service => {
  const { budget, maxPixels } = options
  return {
    probe: (bytes) =>
      inspect(bytes, maxPixels).pipe(
        Effect.map(({ info }) => info),
        Effect.withSpan("Resizer.probe", { attributes: { bytes: bytes.byteLength } })
      ),
    resize: (bytes, box, options = {}) =>
      inspect(bytes, maxPixels).pipe(
        Effect.flatMap((inspected) => renderWithinBudget(bytes, box, inspected, maxPixels, budget, options)),
        Effect.withSpan("Resizer.resize", {
          attributes: {
            bytes: bytes.byteLength,
            boxWidth: box.width,
            boxHeight: box.height,
            formats: (options.formats ?? []).join(","),
            placeholder: options.placeholder === true
          }
        })
      )
  }
}

/** `Resizer` on sharp with a given budget (tests share one to watch it). */
export const SharpResizerWithBudget: Layer.Layer<Resizer, never, Settings | DecodeMemoryBudget> = Layer.effect(
  Resizer,
  Effect.gen(function* () {
    const settings = yield* Settings
    const budget = yield* DecodeMemoryBudget
    return makeSharpResizer({ maxPixels: settings.maxPixels, budget })
  })
)

/**
 * `Resizer` on sharp, with the pixel limit from `Settings` and the process's decode memory budget
 * (`IMGPIPE_DECODE_MEMORY_BUDGET_MB`). A runtime builds it once, so all its workers share the one
 * budget.
 */
export const SharpResizerLive: Layer.Layer<Resizer, ConfigError.ConfigError, Settings> = SharpResizerWithBudget.pipe(
  Layer.provide(DecodeMemoryBudgetLive)
)

// ---- process-wide sharp settings --------------------------------------------------------------

/**
 * `IMGPIPE_SHARP_CONCURRENCY`: libvips threads per image (0 = one per core). Unset keeps sharp's
 * default, which is 1 on glibc Linux (Lambda, `node:22`) to limit memory fragmentation. How many
 * images run at once is libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4) times this.
 */
export const sharpConcurrencyConfig: Config.Config<Option.Option<number>> = Config.option(
  Config.integer("IMGPIPE_SHARP_CONCURRENCY").pipe(
    Config.validate({
      message: "IMGPIPE_SHARP_CONCURRENCY must be a non-negative integer",
      validation: (n) => n >= 0
    })
  )
)

/**
 * Sets sharp's process-wide knobs; call once when a runtime starts. Also turns off libvips'
 * operation cache: every upload is a different image, so cached operations are never reused and
 * only hold memory (up to 50 MB by default).
 */
export const configureSharp: Effect.Effect<void, ConfigError.ConfigError> = Effect.gen(function* () {
  const concurrency = yield* sharpConcurrencyConfig
  yield* Effect.sync(() => {
    sharp.cache(false)
    if (Option.isSome(concurrency)) sharp.concurrency(concurrency.value)
  })
  yield* Effect.annotateLogs(Effect.logDebug("sharp configured"), {
    concurrency: sharp.concurrency(),
    vips: sharp.versions.vips
  })
})

/** `configureSharp` as a layer, for a runtime's `layers.ts`. */
export const SharpConfigLive: Layer.Layer<never, ConfigError.ConfigError> = Layer.effectDiscard(configureSharp)
