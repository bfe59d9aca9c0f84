/**
 * The sharp contenders: imgpipe's own Resizer as the queues run it, a naive sharp loop, one decode
 * for all sizes, and the proposal of medium and small from the large rendition; ImageMagick's two
 * from imagemagick.ts.
 */
import type { SizeBox, SizeBoxes } from "@imgpipe/core"
import { JPEG_OPTIONS, WEBP_OPTIONS } from "@imgpipe/core/resizer/encoders"
import { DEFAULT_DECODE_BUDGET_MIB, makeDecodeBudget } from "@imgpipe/core/resizer/memoryBudget"
import { makeSharpResizer } from "@imgpipe/core/resizer/SharpResizer"
import { Effect } from "effect"
import sharp from "sharp"
import { makeMagickRun } from "./imagemagick.js"
import { type MethodId, ORDER, type Run } from "./methods.js"

// The one-decode baseline uses imgpipe's own encoder settings (imported above): the comparison
// only means something when every contender produces the same outputs.

/** Pixels decoded once, resized into `box` (shrink-on-load, auto-orient, sRGB or grey, alpha kept). */
export interface RawPixels {
  readonly alpha: boolean
  readonly data: Buffer
  readonly raw: { readonly width: number; readonly height: number; readonly channels: 1 | 2 | 3 | 4 }
}

export const decodeToRaw = async (bytes: Buffer, box: SizeBox): Promise<RawPixels> => {
  const metadata = await sharp(bytes, { failOn: "error", pages: 1 }).metadata()
  const grey = metadata.space === "b-w" || metadata.space === "grey16"
  const alpha = metadata.hasAlpha
  const decoded = sharp(bytes, { failOn: "error", sequentialRead: true, pages: 1, autoOrient: true })
    .resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
  const shaped = alpha
    ? decoded.ensureAlpha()
    : grey
    ? decoded.removeAlpha().toColourspace("b-w")
    : decoded.removeAlpha().toColourspace("srgb")
  const { data, info } = await shaped.raw().toBuffer({ resolveWithObject: true })
  return { alpha, data, raw: { width: info.width, height: info.height, channels: info.channels } }
}

export const makeRuns = (
  sizes: SizeBoxes,
  maxPixels: number,
  magick: string | undefined,
  scratch: string
): Record<MethodId, Run | undefined> => {
  const resizer = makeSharpResizer({ maxPixels, budget: Effect.runSync(makeDecodeBudget(DEFAULT_DECODE_BUDGET_MIB)) })
  const job = (bytes: Uint8Array, box: SizeBox) =>
    Effect.runPromise(Effect.zipRight(resizer.probe(bytes), resizer.resize(bytes, box)))

  const imgpipe: Run = async (bytes) => {
    let out = 0
    for (const size of ORDER) out += (await job(bytes, sizes[size])).data.byteLength
    return out
  }

  const fromLarge: Run = async (bytes) => {
    const large = await job(bytes, sizes.large)
    const medium = await job(large.data, sizes.medium)
    const small = await job(large.data, sizes.small)
    return large.data.byteLength + medium.data.byteLength + small.data.byteLength
  }

  const naive: Run = async (bytes) => {
    const { hasAlpha } = await sharp(bytes).metadata()
    let out = 0
    for (const size of ORDER) {
      const box = sizes[size]
      const data = await sharp(bytes)
        .rotate()
        .resize({ width: box.width, height: box.height, fit: "inside", withoutEnlargement: true })
        .toFormat(hasAlpha ? "webp" : "jpeg")
        .toBuffer()
      out += data.byteLength
    }
    return out
  }

  const oneDecode: Run = async (bytes) => {
    const { alpha, data, raw } = await decodeToRaw(bytes, sizes.large)
    let out = 0
    for (const size of ORDER) {
      const box = sizes[size]
      const pipeline = sharp(data, { raw }).resize({
        width: box.width,
        height: box.height,
        fit: "inside",
        withoutEnlargement: true
      })
      const encoded = alpha ? pipeline.webp(WEBP_OPTIONS) : pipeline.jpeg(JPEG_OPTIONS)
      out += (await encoded.toBuffer()).byteLength
    }
    return out
  }

  return {
    imgpipe,
    naive,
    oneDecode,
    imagemagick: magick === undefined ? undefined : makeMagickRun(magick, sizes, scratch, "oneCommand"),
    imagemagickNaive: magick === undefined ? undefined : makeMagickRun(magick, sizes, scratch, "perSize"),
    fromLarge
  }
}
