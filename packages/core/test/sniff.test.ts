/**
 * The magic-number sniff and the GIF transparency check on bytes alone: no sharp, no files.
 */
import { describe, expect, it } from "vitest"
import { gifFirstFrameHasTransparency, sniff } from "../src/resizer/sniff.js"

const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
  new Uint8Array(
    parts.flatMap((part) => (typeof part === "string" ? Array.from(part, (c) => c.charCodeAt(0)) : [...part]))
  )

/** An ISO-BMFF `ftyp` box with the given major brand and compatible brands. */
const ftyp = (major: string, ...compatible: ReadonlyArray<string>) => {
  const size = 16 + 4 * compatible.length
  return bytes([0, 0, 0, size], "ftyp", major, [0, 0, 0, 0], ...compatible)
}

const u16 = (n: number) => [n & 0xff, n >> 8]

/** A GIF header (no colour table), optionally a Graphic Control Extension, then an image descriptor. */
const gif = (options: { readonly transparent?: boolean; readonly frame?: readonly [number, number, number, number] }) =>
  bytes(
    "GIF89a",
    [...u16(10), ...u16(10), 0, 0, 0],
    options.transparent === undefined ? [] : [0x21, 0xf9, 4, options.transparent ? 1 : 0, 0, 0, 0, 0],
    [0x2c, ...(options.frame ?? [0, 0, 10, 10]).flatMap(u16), 0]
  )

describe("sniff", () => {
  it.each(
    [
      ["jpeg", bytes([0xff, 0xd8, 0xff, 0xe0])],
      ["png", bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
      ["gif", bytes("GIF87a")],
      ["gif", bytes("GIF89a")],
      ["webp", bytes("RIFF", [0, 0, 0, 0], "WEBP")],
      ["tiff", bytes([0x49, 0x49, 0x2a, 0x00])],
      ["tiff", bytes([0x4d, 0x4d, 0x00, 0x2a])],
      ["heif", ftyp("avif", "mif1")],
      ["heif", ftyp("heic", "mif1")]
    ] as const
  )("%s magic numbers are a candidate for sharp", (family, input) => {
    expect(sniff(input)).toEqual({ _tag: "Candidate", family })
  })

  it.each(
    [
      ["PDF", bytes("%PDF-1.7")],
      ["SVG", bytes("<?xml version=\"1.0\"?>\n<!-- a comment -->\n<svg xmlns=\"http://www.w3.org/2000/svg\">")],
      ["SVG", bytes("<!DOCTYPE svg PUBLIC>")],
      ["Photoshop PSD", bytes("8BPS")],
      ["Canon CR2 raw", bytes([0x49, 0x49, 0x2a, 0x00, 0, 0, 0, 0], "CR")],
      ["ISO media (MP4/MOV/3GP)", ftyp("isom", "mp42")],
      ["Canon CR3 raw", ftyp("crx ")],
      ["JPEG XL", bytes([0xff, 0x0a])],
      ["QOI", bytes("qoif")]
    ] as const
  )("%s is named and refused", (name, input) => {
    expect(sniff(input)).toEqual({ _tag: "Unsupported", name })
  })

  it("empty, short and unknown bytes are not an image", () => {
    expect(sniff(new Uint8Array(0))).toEqual({ _tag: "Unknown" })
    expect(sniff(bytes([0xff, 0xd8]))).toEqual({ _tag: "Unknown" })
    expect(sniff(bytes("hello, world"))).toEqual({ _tag: "Unknown" })
  })
})

describe("gifFirstFrameHasTransparency", () => {
  it("an opaque first frame covering the screen is opaque", () => {
    expect(gifFirstFrameHasTransparency(gif({}))).toBe(false)
    expect(gifFirstFrameHasTransparency(gif({ transparent: false }))).toBe(false)
  })

  it("a transparent colour or a frame smaller than the screen is transparent", () => {
    expect(gifFirstFrameHasTransparency(gif({ transparent: true }))).toBe(true)
    expect(gifFirstFrameHasTransparency(gif({ frame: [1, 0, 9, 10] }))).toBe(true)
    expect(gifFirstFrameHasTransparency(gif({ frame: [0, 0, 10, 9] }))).toBe(true)
  })

  it("anything unparseable counts as transparent", () => {
    expect(gifFirstFrameHasTransparency(bytes("GIF89a"))).toBe(true)
    expect(gifFirstFrameHasTransparency(bytes("GIF89a", [...u16(10), ...u16(10), 0, 0, 0], [0x99]))).toBe(true)
  })
})
