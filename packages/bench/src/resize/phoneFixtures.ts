/**
 * The two inputs of the `phone` mix that no real fixture has, made from what is there with sharp:
 *
 * - `screenshot-1170x2532-synthetic.png`: an iPhone-sized (1170 × 2532, 3× scale) screenshot of a
 *   messaging app's list, drawn from the SVG below: flat colours, anti-aliased text, icons. SYNTHETIC:
 *   no real screenshot with a clear licence was found. Opaque RGB, as iOS writes screenshots.
 * - `panorama-8000x2000-derived.jpg`: a phone panorama's shape (4:1, 16 MP), DERIVED from
 *   `photo-6028x3391-bird-20mp.jpg`: a 6028 × 2000 strip of it, extended to 8000 px by its own
 *   mirror image (no seam), saved as a phone camera does (baseline JPEG, quality 90, 4:2:0).
 *
 * Both are committed beside the real fixtures (the k6 scripts read files, not generators);
 * `bun packages/bench/src/resize/phoneFixtures.ts` writes them again. The screenshot's text is
 * drawn with the machine's fonts (fontconfig's "sans-serif"), so its bytes differ between machines;
 * the panorama's depend only on libvips' JPEG codec.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { fixturesDir } from "../util.js"

export const SCREENSHOT = "screenshot-1170x2532-synthetic.png"
export const PANORAMA = "panorama-8000x2000-derived.jpg"

const WIDTH = 1170
const HEIGHT = 2532

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;")

const CHATS: ReadonlyArray<readonly [string, string, string, string]> = [
  ["Ana Lima", "Sounds good, see you at 7 at the usual place", "9:38", "#f4a261"],
  ["Build status", "main is green again after the flaky test fix", "9:12", "#2a9d8f"],
  ["Mum", "Did you take your umbrella? It looks like rain", "8:47", "#e76f51"],
  ["Tomás", "Photos from the weekend are in the shared album", "Yesterday", "#264653"],
  ["Design review", "Priya: the new onboarding flow is ready for a look", "Yesterday", "#8ab17d"],
  ["Kenji Sato", "Thanks! I owe you a coffee", "Tuesday", "#e9c46a"],
  ["Climbing club", "Saturday session moved to 10:00, same gym", "Monday", "#6d597a"],
  ["Landlord", "The plumber comes on Thursday between 9 and 12", "Sunday", "#b56576"],
  ["Léa", "Voice message (0:42)", "Sunday", "#457b9d"]
]

/** The screenshot's SVG: status bar, large title, search field, chat rows, tab bar. */
export const screenshotSvg = (): string => {
  const font = `font-family="sans-serif"`
  const rows = CHATS.map(([name, preview, time, colour], i) => {
    const y = 520 + i * 204
    const initials = name.split(" ").map((w) => w[0]).join("").slice(0, 2)
    return [
      `<circle cx="110" cy="${y + 100}" r="66" fill="${colour}"/>`,
      `<text x="110" y="${y + 118}" ${font} font-size="50" font-weight="bold" fill="#fff" text-anchor="middle">${
        escape(initials)
      }</text>`,
      `<text x="206" y="${y + 80}" ${font} font-size="51" font-weight="bold" fill="#111">${escape(name)}</text>`,
      `<text x="1122" y="${y + 80}" ${font} font-size="42" fill="#8e8e93" text-anchor="end">${escape(time)}</text>`,
      `<text x="206" y="${y + 145}" ${font} font-size="44" fill="#8e8e93">${escape(preview.slice(0, 31))}…</text>`,
      i % 3 === 0 ? `<circle cx="1090" cy="${y + 135}" r="22" fill="#007aff"/>` : "",
      `<rect x="206" y="${y + 203}" width="964" height="2" fill="#e5e5ea"/>`
    ].join("")
  }).join("\n")
  const tabs = ["Chats", "Calls", "Camera", "Settings"].map((label, i) => {
    const x = 146 + i * 292
    const colour = i === 0 ? "#007aff" : "#8e8e93"
    return `<rect x="${x - 40}" y="2300" width="80" height="64" rx="18" fill="${colour}"/>` +
      `<text x="${x}" y="2420" ${font} font-size="32" fill="${colour}" text-anchor="middle">${label}</text>`
  }).join("")
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    // Status bar: time, signal bars, battery.
    `<text x="150" y="100" ${font} font-size="50" font-weight="bold" fill="#000" text-anchor="middle">9:41</text>`,
    ...[0, 1, 2, 3].map((i) =>
      `<rect x="${880 + i * 22}" y="${88 - i * 10}" width="14" height="${18 + i * 10}" rx="3" fill="#000"/>`
    ),
    `<rect x="990" y="64" width="96" height="44" rx="12" fill="none" stroke="#000" stroke-width="4" opacity="0.4"/>`,
    `<rect x="998" y="72" width="70" height="28" rx="6" fill="#000"/>`,
    // Navigation: edit, compose, large title, search field.
    `<text x="48" y="230" ${font} font-size="51" fill="#007aff">Edit</text>`,
    `<rect x="1060" y="190" width="60" height="52" rx="10" fill="none" stroke="#007aff" stroke-width="6"/>`,
    `<text x="48" y="370" ${font} font-size="102" font-weight="bold" fill="#000">Chats</text>`,
    `<rect x="48" y="410" width="1074" height="106" rx="30" fill="#eeeef0"/>`,
    `<circle cx="112" cy="461" r="20" fill="none" stroke="#8e8e93" stroke-width="6"/>`,
    `<text x="150" y="478" ${font} font-size="50" fill="#8e8e93">Search</text>`,
    rows,
    // Tab bar.
    `<rect x="0" y="2250" width="${WIDTH}" height="282" fill="#f7f7f7"/>`,
    `<rect x="0" y="2250" width="${WIDTH}" height="2" fill="#d1d1d6"/>`,
    tabs,
    `<rect x="385" y="2488" width="400" height="15" rx="7" fill="#000"/>`,
    `</svg>`
  ].join("\n")
}

/** The 4:1 strip of the 20 MP photo, mirrored out to `width`: the pixels of the panorama. */
const panorama = async (source: string, width: number, height: number) => {
  const meta = await sharp(source).metadata()
  const top = Math.round((meta.height - height) / 2)
  const strip = await sharp(source).extract({ left: 0, top, width: meta.width, height }).toBuffer()
  // sharp extracts before it flops, whatever the call order: take the right end, then mirror it.
  const extra = width - meta.width
  const mirrored = await sharp(strip)
    .extract({ left: meta.width - extra, top: 0, width: extra, height })
    .flop()
    .toBuffer()
  return sharp({ create: { width, height, channels: 3, background: "#000" } })
    .composite([{ input: strip, left: 0, top: 0 }, { input: mirrored, left: meta.width, top: 0 }])
}

/** Writes the two files into `dir` (the fixtures by default) when they are missing; returns their paths. */
export const ensurePhoneFixtures = async (
  dir = fixturesDir,
  force = false
): Promise<{ readonly screenshot: string; readonly panorama: string }> => {
  const screenshot = join(dir, SCREENSHOT)
  const pano = join(dir, PANORAMA)
  if (force || !existsSync(screenshot)) {
    await sharp(Buffer.from(screenshotSvg())).flatten({ background: "#ffffff" }).png({ compressionLevel: 6 })
      .toFile(screenshot)
  }
  if (force || !existsSync(pano)) {
    const image = await panorama(join(dir, "photo-6028x3391-bird-20mp.jpg"), 8000, 2000)
    await image.jpeg({ quality: 90, chromaSubsampling: "4:2:0", mozjpeg: false }).toFile(pano)
  }
  return { screenshot, panorama: pano }
}

if (import.meta.main === true || process.argv[1]?.endsWith("phoneFixtures.ts") === true) {
  ensurePhoneFixtures(fixturesDir, true).then(
    (paths) => process.stdout.write(`wrote ${paths.screenshot} and ${paths.panorama}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exit(1)
    }
  )
}
