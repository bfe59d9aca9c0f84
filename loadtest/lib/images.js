/*
 * The image mix: real photos from the core package's fixtures, read once per VU with
 * `open(path, 'b')`. `open` resolves a relative path from the module that calls it while it is being
 * loaded, so the files are opened here, at this module's top level (k6's init context).
 *
 * MIX picks a preset of mixes.json (`photos`, `phone`, `small`, `large`, `all`); IMAGES, when MIX is
 * not set, a preset or an explicit list `file[:weight],file[:weight]` of names in the fixture folder.
 * FIXTURES_DIR overrides the folder. Every VU holds its own copy of the bytes it opened: memory ≈
 * VUs × the mix's distinct bytes.
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
 * Presets (mixes.json, which `bun run bench` reads too, so both measure the same mix). An entry is
 * `[file, weight]` or `[file, weight, { content_type, refused }]`: `content_type` is what the client
 * declares instead of the one the extension implies, `refused` the error code the service must end
 * the upload with (its renditions never come).
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
 *
 * `phone` is what a mobile app sends when it uploads the camera roll's files as they are (no
 * client-side downscaling): camera JPEGs of 10–16 MP dominate, screenshots are the next largest
 * group (a sixth of a typical camera roll), a few HEIC files arrive declared as image/jpeg (an app
 * that passes the file through under the wrong type; the service must refuse them), and a few
 * panoramas are the largest decodes.
 *   weight  file                                          what it stands for
 *   40      photo-4272x2848-sunset-progressive.jpg        12 MP phone camera JPEG (the common case), 1.1 MB
 *   20      photo-5312x2988-dandelions-progressive.jpg    16 MP camera JPEG (larger-sensor Android), 1.5 MB
 *   15      screenshot-1170x2532-synthetic.png            iPhone screenshot, RGB PNG, SYNTHETIC (drawn from an SVG), 198 KB
 *   12      photo-2560x3837-portrait-progressive.jpg      10 MP portrait-orientation photo, 0.5 MB
 *    5      exif-orientation-6.jpg                        3 MP camera JPEG held upright (EXIF rotation 6), 784 KB
 *    5      photo-2566x3313-iphone11-p3.heic              iPhone HEIC declared as image/jpeg: refused `unsupported_format`
 *    3      panorama-8000x2000-derived.jpg                16 MP 4:1 panorama, DERIVED from the 20 MP photo, 1.6 MB
 * Mean upload ≈ 0.96 MB and ≈ 10.7 MP. Real 12 MP phone JPEGs are larger (2–4 MB: these photos are
 * wallpapers saved at a lower quality), so the upload bytes are an underestimate; the decode work,
 * which follows the pixels, is not.
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

export const MIX_NAME = envString("MIX", envString("IMAGES", "photos"))

if (__ENV.MIX !== undefined && __ENV.MIX !== "" && PRESETS[MIX_NAME] === undefined) {
  throw new Error(`MIX: no preset "${MIX_NAME}" in lib/mixes.json (${Object.keys(PRESETS).join(", ")})`)
}

/**
 * `{ name, contentType, bytes (ArrayBuffer), size, weight, refused }` for each file of the mix;
 * `refused` is the error code the upload must end with, or null.
 */
export const IMAGES = parseMix(MIX_NAME).map(([name, weight, extra]) => {
  const extension = name.split(".").pop().toLowerCase()
  const declared = extra !== undefined && extra.content_type !== undefined ? extra.content_type : undefined
  const contentType = declared !== undefined ? declared : CONTENT_TYPES[extension]
  if (contentType === undefined) throw new Error(`IMAGES: no content type for "${name}"`)
  const bytes = open(`${FIXTURES}/${name}`, "b")
  const refused = extra !== undefined && typeof extra.refused === "string" ? extra.refused : null
  return { name, contentType, bytes, size: bytes.byteLength, weight, refused }
})

if (IMAGES.length === 0) throw new Error("IMAGES selects no file")

const TOTAL_WEIGHT = IMAGES.reduce((sum, image) => sum + image.weight, 0)

/** A weighted random pick from `images`: over a run the mix matches the weights. */
function pickFrom(images, total) {
  let r = Math.random() * total
  for (const image of images) {
    r -= image.weight
    if (r < 0) return image
  }
  return images[images.length - 1]
}

export function pickImage() {
  return pickFrom(IMAGES, TOTAL_WEIGHT)
}

const ACCEPTED = IMAGES.filter((image) => image.refused === null)
const ACCEPTED_WEIGHT = ACCEPTED.reduce((sum, image) => sum + image.weight, 0)

/** A weighted pick among the images the service processes (get_image.js reads their renditions). */
export function pickAcceptedImage() {
  if (ACCEPTED.length === 0) throw new Error(`the mix "${MIX_NAME}" has no image the service accepts`)
  return pickFrom(ACCEPTED, ACCEPTED_WEIGHT)
}

/** The mix as plain data, for the report. */
export function describeMix() {
  return IMAGES.map((image) => ({
    name: image.name,
    content_type: image.contentType,
    bytes: image.size,
    share: Math.round((image.weight / TOTAL_WEIGHT) * 1000) / 10,
    refused: image.refused
  }))
}

export function meanUploadBytes() {
  return IMAGES.reduce((sum, image) => sum + image.size * image.weight, 0) / TOTAL_WEIGHT
}
