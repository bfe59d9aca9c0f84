/**
 * The image mixes the k6 scripts and the bench share (loadtest/lib/mixes.json, read by
 * loadtest/lib/images.js in k6 and by util.ts `readMix` in the bench): every file of every preset
 * is in the fixtures (a fresh clone runs them), `MIX=phone` picks the phone mix, its HEIC is declared
 * as image/jpeg and expected to be refused, and both readers see the same entries.
 */
import { existsSync, readFileSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { describe, expect, it, vi } from "vitest"
import { leadingEntries, readMix } from "../src/util.js"

const lib = resolve(import.meta.dirname, "../../../loadtest/lib")
const fixtures = resolve(import.meta.dirname, "../../core/test/fixtures/images")

interface Image {
  readonly name: string
  readonly contentType: string
  readonly size: number
  readonly weight: number
  readonly refused: string | null
}
interface ImagesModule {
  readonly MIX_NAME: string
  readonly IMAGES: ReadonlyArray<Image>
  readonly meanUploadBytes: () => number
  readonly pickAcceptedImage: () => Image
}

/** images.js as k6 would load it with these -e variables (`open` relative to loadtest/lib). */
const loadImages = async (env: Record<string, string>): Promise<ImagesModule> => {
  vi.resetModules()
  Object.assign(globalThis, {
    __ENV: env,
    open: (path: string, mode?: string) => {
      const bytes = readFileSync(resolve(lib, path))
      return mode === "b"
        ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
        : bytes.toString("utf8")
    }
  })
  return (await import(pathToFileURL(resolve(lib, "images.js")).href)) as ImagesModule
}

const presets = JSON.parse(readFileSync(resolve(lib, "mixes.json"), "utf8")) as Record<
  string,
  ReadonlyArray<readonly [string, number, { content_type?: string; refused?: string }?]>
>

describe("image mixes", () => {
  it("every file of every preset is in the fixtures", () => {
    const missing = Object.values(presets).flat().map(([name]) => name).filter((name) =>
      !existsSync(resolve(fixtures, name))
    )
    expect(missing).toEqual([])
  })

  it("MIX=phone: the phone mix, its HEIC declared as image/jpeg and expected to be refused", async () => {
    const images = await loadImages({ MIX: "phone" })
    expect(images.MIX_NAME).toBe("phone")
    expect(images.IMAGES.map((i) => i.name)).toEqual(presets.phone?.map(([name]) => name))
    const heic = images.IMAGES.find((i) => i.name.endsWith(".heic"))
    expect(heic).toMatchObject({ contentType: "image/jpeg", refused: "unsupported_format" })
    expect(images.IMAGES.filter((i) => i.refused !== null)).toHaveLength(1)
    // The 12 MP JPEG dominates.
    const top = [...images.IMAGES].sort((a, b) => b.weight - a.weight)[0]
    expect(top?.name).toMatch(/^photo-4272x2848/)
    for (let i = 0; i < 50; i++) expect(images.pickAcceptedImage().refused).toBeNull()
    // The mean the header comments quote (≈ 0.96 MB), from the real file sizes.
    expect(images.meanUploadBytes() / 1e6).toBeCloseTo(0.96, 1)
  })

  it("no MIX: IMAGES still picks a preset or a list, photos by default", async () => {
    expect((await loadImages({})).MIX_NAME).toBe("photos")
    const listed = await loadImages({ IMAGES: "photo-246x345.tiff:2,photo-1024x772.webp" })
    expect(listed.IMAGES.map((i) => [i.name, i.weight, i.contentType, i.refused])).toEqual([
      ["photo-246x345.tiff", 2, "image/tiff", null],
      ["photo-1024x772.webp", 1, "image/webp", null]
    ])
  })

  it("an unknown MIX is an error, not a silent default", async () => {
    await expect(loadImages({ MIX: "phones" })).rejects.toThrow(/no preset "phones"/)
  })

  it("the bench reads the same entries, with the declared type and the expected refusal", () => {
    const phone = readMix("phone")
    expect(phone.map((e) => [e.name, e.weight])).toEqual(presets.phone?.map(([name, weight]) => [name, weight]))
    expect(phone.find((e) => e.name.endsWith(".heic"))).toMatchObject({
      contentType: "image/jpeg",
      refused: "unsupported_format"
    })
    expect(readMix("photos").every((e) => e.refused === undefined)).toBe(true)
  })
})

describe("leadingEntries", () => {
  it("the heaviest entries until they carry the share, ties in the mix's order", () => {
    const mix = [
      { name: "a", weight: 10 },
      { name: "b", weight: 30 },
      { name: "c", weight: 20 },
      { name: "d", weight: 20 },
      { name: "e", weight: 20 }
    ]
    expect(leadingEntries(mix, 0.75).map((e) => e.name)).toEqual(["b", "c", "d", "e"])
    expect(leadingEntries(mix, 0.5).map((e) => e.name)).toEqual(["b", "c"])
    expect(leadingEntries(mix, 1).map((e) => e.name)).toEqual(["b", "c", "d", "e", "a"])
    expect(leadingEntries(readMix("photos"), 0.75).map((e) => e.name)).toEqual([
      "photo-1280x1024-grass-progressive.jpg",
      "photo-1024x772.webp",
      "exif-orientation-6.jpg",
      "grayscale-2560x1600.jpg"
    ])
  })
})
