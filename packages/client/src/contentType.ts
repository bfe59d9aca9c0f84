/**
 * The content type of an upload when the caller does not say it: from the file name's extension,
 * else from the first bytes (the magic numbers of the accepted formats). The server checks the real
 * bytes anyway; this only has to name what the file claims to be.
 */
const byExtension: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  jfif: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  tif: "image/tiff",
  tiff: "image/tiff",
  heic: "image/heic",
  heif: "image/heif",
  svg: "image/svg+xml"
}

/** `photo.JPG` → `image/jpeg`; undefined for an unknown or missing extension. */
export const contentTypeFromName = (name: string): string | undefined => {
  const dot = name.lastIndexOf(".")
  return dot < 0 ? undefined : byExtension[name.slice(dot + 1).toLowerCase()]
}

const startsWith = (bytes: Uint8Array, offset: number, signature: ReadonlyArray<number>): boolean =>
  signature.every((byte, i) => bytes[offset + i] === byte)
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0))

/** The type the first bytes announce, among the accepted formats; undefined when none matches. */
export const contentTypeFromBytes = (bytes: Uint8Array): string | undefined => {
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return "image/jpeg"
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png"
  if (startsWith(bytes, 0, ascii("GIF8"))) return "image/gif"
  if (startsWith(bytes, 0, ascii("RIFF")) && startsWith(bytes, 8, ascii("WEBP"))) return "image/webp"
  if (startsWith(bytes, 4, ascii("ftypavi"))) return "image/avif"
  if (startsWith(bytes, 0, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, 0, [0x4d, 0x4d, 0x00, 0x2a])) {
    return "image/tiff"
  }
  return undefined
}
