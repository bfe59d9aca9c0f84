/*
 * The placeholder a client paints before a rendition arrives, made from the resized pixels the
 * rendition was encoded from (no second decode): a ThumbHash of them fitted inside 100 × 100, and
 * their mean colour.
 */
import sharp from "sharp"
import { rgbaToThumbHash } from "thumbhash"
import type { Placeholder } from "../domain/image.js"
import type { Pixels } from "./encoders.js"

/** ThumbHash takes at most 100 × 100 pixels. */
const MAX_SIDE = 100

const hex = (value: number): string => Math.round(value).toString(16).padStart(2, "0")

/**
 * The mean colour of straight (not premultiplied) RGBA pixels, weighted by alpha, as `#rrggbb`
 * (sRGB values averaged as they are stored, as CSS and ThumbHash's own average do). The mean rather
 * than the histogram's mode (sharp's `stats().dominant`): a background painted in one colour before
 * the image arrives is closest to the whole image (least squared difference) at its mean, while the
 * mode of a photo can be a small bright patch; it is also a plain loop over ≤ 10,000 pixels here,
 * where `stats()` would be one more libvips pass. A fully transparent image averages its RGB unweighted.
 */
export const meanColour = (rgba: Uint8Array): string => {
  const sums = [0, 0, 0]
  let weight = 0
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    const alpha = rgba[i + 3] ?? 0
    for (let c = 0; c < 3; c++) sums[c]! += (rgba[i + c] ?? 0) * alpha
    weight += alpha
  }
  if (weight === 0) {
    const pixels = Math.max(1, Math.floor(rgba.length / 4))
    sums.fill(0)
    for (let i = 0; i + 3 < rgba.length; i += 4) for (let c = 0; c < 3; c++) sums[c]! += rgba[i + c] ?? 0
    return `#${sums.map((sum) => hex(sum / pixels)).join("")}`
  }
  return `#${sums.map((sum) => hex(sum / weight)).join("")}`
}

/**
 * The placeholder of `pixels`: scaled to fit 100 × 100 (never enlarged; alpha resized premultiplied,
 * as sharp does), made RGBA (grey becomes sRGB), hashed; `width`/`height` are the hashed pixels'.
 */
export const makePlaceholder = async (pixels: Pixels): Promise<Placeholder> => {
  const { data, info } = await sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels }
  })
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb")
    .ensureAlpha()
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true })
  const rgba = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return {
    thumbhash: Buffer.from(rgbaToThumbHash(info.width, info.height, rgba)).toString("base64"),
    dominantColor: meanColour(rgba),
    width: info.width,
    height: info.height
  }
}
