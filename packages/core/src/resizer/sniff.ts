/*
 * The plain-JS checks on the first bytes that run before any libvips loader: which format family
 * the magic number announces (so bytes that are not one of our six formats never reach a loader,
 * the SVG loader in particular), and whether a GIF's first frame is transparent.
 */

// ---- magic numbers ----------------------------------------------------------------------------

/** The loader family the first bytes announce; sharp's header read decides the exact format. */
export type Sniffed =
  | { readonly _tag: "Candidate"; readonly family: "jpeg" | "png" | "gif" | "webp" | "tiff" | "heif" }
  | { readonly _tag: "Unsupported"; readonly name: string }
  | { readonly _tag: "Unknown" }

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((byte, i) => bytes[offset + i] === byte)

const ascii = (text: string): ReadonlyArray<number> => Array.from(text, (c) => c.charCodeAt(0))

const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)))

const readUint32BE = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset] ?? 0) * 0x1000000 + ((bytes[offset + 1] ?? 0) << 16)) +
  (((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0))

const readUint16LE = (bytes: Uint8Array, offset: number): number =>
  (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8)

/** ISO-BMFF brands of HEIF still images (AVIF and HEIC alike; the compression tells them apart). */
const HEIF_BRANDS = new Set(["avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2"])

const sniffIsoBmff = (bytes: Uint8Array): Sniffed => {
  const boxSize = Math.min(readUint32BE(bytes, 0), bytes.length, 4096)
  const brands = [latin1(bytes, 8, 12)]
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(latin1(bytes, at, at + 4))
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return { _tag: "Candidate", family: "heif" }
  if (brands.includes("crx ")) return { _tag: "Unsupported", name: "Canon CR3 raw" }
  return { _tag: "Unsupported", name: "ISO media (MP4/MOV/3GP)" }
}

/**
 * Reads the first bytes. Accepted families go on to sharp; formats we know but do not accept get a
 * name (and `unsupported_format`); everything else is `not_an_image` without libvips seeing it.
 */
export const sniff = (bytes: Uint8Array): Sniffed => {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { _tag: "Candidate", family: "jpeg" }
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { _tag: "Candidate", family: "png" }
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) {
    return { _tag: "Candidate", family: "gif" }
  }
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) {
    return { _tag: "Candidate", family: "webp" }
  }
  if (
    startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    // TIFF-based camera raws with their own marker. NEF, DNG, ARW are plain TIFF: libvips reads their
    // first IFD (usually an embedded preview) as an ordinary TIFF, which is harmless.
    if (startsWith(bytes, ascii("CR"), 8)) return { _tag: "Unsupported", name: "Canon CR2 raw" }
    return { _tag: "Candidate", family: "tiff" }
  }
  if (startsWith(bytes, ascii("IIRO")) || startsWith(bytes, ascii("IIRS"))) {
    return { _tag: "Unsupported", name: "Olympus ORF raw" }
  }
  if (startsWith(bytes, [0x49, 0x49, 0x55, 0x00])) return { _tag: "Unsupported", name: "Panasonic RW2 raw" }
  if (startsWith(bytes, ascii("ftyp"), 4)) return sniffIsoBmff(bytes)

  if (startsWith(bytes, ascii("%PDF-"))) return { _tag: "Unsupported", name: "PDF" }
  if (startsWith(bytes, ascii("%!PS"))) return { _tag: "Unsupported", name: "PostScript" }
  if (startsWith(bytes, [0xc5, 0xd0, 0xd3, 0xc6])) return { _tag: "Unsupported", name: "EPS" }
  if (startsWith(bytes, ascii("8BPS"))) return { _tag: "Unsupported", name: "Photoshop PSD" }
  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) {
    return { _tag: "Unsupported", name: "JPEG 2000" }
  }
  if (startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return { _tag: "Unsupported", name: "JPEG 2000" }
  if (
    startsWith(bytes, [0xff, 0x0a]) ||
    startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a])
  ) {
    return { _tag: "Unsupported", name: "JPEG XL" }
  }
  if (startsWith(bytes, ascii("BM")) && [12, 40, 52, 56, 64, 108, 124].includes(readUint16LE(bytes, 14))) {
    return { _tag: "Unsupported", name: "BMP" }
  }
  if ((startsWith(bytes, [0, 0, 1, 0]) || startsWith(bytes, [0, 0, 2, 0])) && readUint16LE(bytes, 4) > 0) {
    return { _tag: "Unsupported", name: "ICO/CUR" }
  }
  if (startsWith(bytes, [0x76, 0x2f, 0x31, 0x01])) return { _tag: "Unsupported", name: "OpenEXR" }
  if (startsWith(bytes, ascii("#?RADIANCE")) || startsWith(bytes, ascii("#?RGBE"))) {
    return { _tag: "Unsupported", name: "Radiance HDR" }
  }
  if (startsWith(bytes, ascii("qoif"))) return { _tag: "Unsupported", name: "QOI" }
  if (startsWith(bytes, ascii("gimp xcf"))) return { _tag: "Unsupported", name: "GIMP XCF" }
  if (startsWith(bytes, ascii("FUJIFILMCCD-RAW"))) return { _tag: "Unsupported", name: "Fujifilm RAF raw" }
  // SVG is text: an XML prolog, comments or a DOCTYPE may come before the root element. libvips'
  // own check looks at the start of the file too; it is refused here because it can carry scripts
  // and external references, and rendering it would hand untrusted XML to librsvg.
  const head = latin1(bytes, 0, 4096)
  if (/<svg[\s>/]|<!doctype\s+svg/i.test(head)) return { _tag: "Unsupported", name: "SVG" }
  return { _tag: "Unknown" }
}

/**
 * libvips' GIF loader always yields RGBA, so `hasAlpha` from the header is true for every GIF.
 * What decides transparency of the first frame is its Graphic Control Extension (transparent-colour
 * flag) and whether that frame covers the whole logical screen (outside it libvips leaves pixels
 * transparent). Anything unparseable counts as transparent: WebP with alpha is always a safe answer.
 */
export const gifFirstFrameHasTransparency = (bytes: Uint8Array): boolean => {
  if (bytes.length < 13) return true
  const screenWidth = readUint16LE(bytes, 6)
  const screenHeight = readUint16LE(bytes, 8)
  const screenFlags = bytes[10] ?? 0
  let at = 13 + (screenFlags & 0x80 ? 3 * 2 ** ((screenFlags & 0x07) + 1) : 0)
  let transparent = false
  while (at < bytes.length) {
    const introducer = bytes[at]
    if (introducer === 0x2c) {
      // Image descriptor: left, top, width, height.
      if (at + 9 > bytes.length) return true
      const covers = readUint16LE(bytes, at + 1) === 0 && readUint16LE(bytes, at + 3) === 0 &&
        readUint16LE(bytes, at + 5) >= screenWidth && readUint16LE(bytes, at + 7) >= screenHeight
      return transparent || !covers
    }
    if (introducer !== 0x21) return true
    const label = bytes[at + 1]
    at += 2
    if (label === 0xf9 && bytes[at] === 4) transparent = ((bytes[at + 1] ?? 0) & 0x01) === 1
    // Skip the extension's data sub-blocks up to the zero-length terminator.
    for (let size = bytes[at]; size !== undefined && size !== 0; size = bytes[at]) at += size + 1
    at += 1
  }
  return true
}
