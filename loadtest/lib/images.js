/*
 * The image mix: real photos from the core package's fixtures, read once per VU with
 * `open(path, 'b')`. `open` resolves a relative path from the module that calls it while it is being
 * loaded, so the files are opened here, at this module's top level (k6's init context).
 *
 * IMAGES picks the mix: a preset name (`photos`, `small`, `large`, `all`) or an explicit list
 * `file[:weight],file[:weight]` of names in the fixture folder. FIXTURES_DIR overrides the folder.
 * Every VU holds its own copy of the bytes it opened: memory ≈ VUs × the mix's distinct bytes.
 */
import { envString } from "./config.js"

const FIXTURES = envString("FIXTURES_DIR", "../../packages/core/test/fixtures/images").replace(/\/+$/, "")

const CONTENT_TYPES = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  tif: "image/tiff",
  tiff: "image/tiff"
}

/*
 * Presets (mixes.json, which `bun run bench` reads too, so both measure the same mix).
 * `photos` (the default) is what a consumer app's uploads look like: mostly small and medium photos.
 * Phones and web clients usually downscale before upload (a 12 MP camera file is rarely sent as is),
 * so 1–3 MP JPEG/WebP dominate; a tail of full-size phone and camera files and of PNG/TIFF keeps the
 * heavy decodes in the mix.
 *   weight  file                                    what it stands for
 *   30      photo-1280x1024-grass-progressive.jpg   1.3 MP web-resized photo, 183 KB
 *   20      photo-1024x772.webp                     0.8 MP WebP from a web client, 177 KB
 *   15      exif-orientation-6.jpg                  3 MP camera JPEG, rotated by EXIF, 784 KB
 *   10      grayscale-2560x1600.jpg                 4 MP JPEG (greyscale), 235 KB
 *   10      photo-246x345.tiff                      thumbnail-sized scan, 255 KB
 *    5      cmyk-500x333-swop-icc.jpg               print-workflow CMYK JPEG with ICC profile, 732 KB
 *    5      photo-3024x4032-iphone-xs-p3.avif       12 MP phone photo, Display P3, 162 KB
 *    3      alpha-2048x1536-rgba.png                3 MP PNG with transparency, 655 KB
 *    2      photo-6028x3391-bird-20mp.jpg           20 MP camera original, 4.4 MB
 * Mean upload ≈ 0.41 MB and ≈ 2.6 MP.
 */
const PRESETS = JSON.parse(open("./mixes.json"))

function parseMix(spec) {
  if (PRESETS[spec] !== undefined) return PRESETS[spec]
  return spec.split(",").map((part) => part.trim()).filter((part) => part.length > 0).map((part) => {
    const at = part.lastIndexOf(":")
    const name = at > 0 ? part.slice(0, at) : part
    const weight = at > 0 ? Number(part.slice(at + 1)) : 1
    if (!(weight > 0)) throw new Error(`IMAGES: bad weight in "${part}"`)
    return [name, weight]
  })
}

export const MIX_NAME = envString("IMAGES", "photos")

/** `{ name, contentType, bytes (ArrayBuffer), size, weight }` for each file of the mix. */
export const IMAGES = parseMix(MIX_NAME).map(([name, weight]) => {
  const extension = name.split(".").pop().toLowerCase()
  const contentType = CONTENT_TYPES[extension]
  if (contentType === undefined) throw new Error(`IMAGES: no content type for "${name}"`)
  const bytes = open(`${FIXTURES}/${name}`, "b")
  return { name, contentType, bytes, size: bytes.byteLength, weight }
})

if (IMAGES.length === 0) throw new Error("IMAGES selects no file")

const TOTAL_WEIGHT = IMAGES.reduce((sum, image) => sum + image.weight, 0)

/** A weighted random pick: over a run the mix matches the weights. */
export function pickImage() {
  let r = Math.random() * TOTAL_WEIGHT
  for (const image of IMAGES) {
    r -= image.weight
    if (r < 0) return image
  }
  return IMAGES[IMAGES.length - 1]
}

/** The mix as plain data, for the report. */
export function describeMix() {
  return IMAGES.map((image) => ({
    name: image.name,
    content_type: image.contentType,
    bytes: image.size,
    share: Math.round((image.weight / TOTAL_WEIGHT) * 1000) / 10
  }))
}

export function meanUploadBytes() {
  return IMAGES.reduce((sum, image) => sum + image.size * image.weight, 0) / TOTAL_WEIGHT
}
