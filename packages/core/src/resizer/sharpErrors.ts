/*
 * What sharp (libvips) rejected with, as a rejection code and a short message.
 */
import { InvalidImage, type RejectionCode } from "../domain/errors.js"

export const invalid = (code: RejectionCode, message: string) => new InvalidImage({ code, message })

const errorText = (error: unknown): string => {
  const raw = error instanceof Error ? error.message : String(error)
  // libvips stacks one line per layer; the last line names the real cause. Keep the record short.
  const lines = raw.split("\n").map((line) => line.trim()).filter((line) => line.length > 0)
  const text = lines.at(-1) ?? raw
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** Maps whatever sharp rejected with to a rejection code; never lets an exception escape. */
export const fromSharpError = (error: unknown): InvalidImage => {
  const text = errorText(error)
  if (/buffer is empty/i.test(text)) return invalid("empty_file", "The file is empty")
  if (/exceeds pixel limit/i.test(text)) return invalid("too_many_pixels", `The image has too many pixels (${text})`)
  if (/unsupported image format/i.test(text)) return invalid("not_an_image", "The file is not a recognised image")
  if (/compression format has not been built in|no decoding plugin|unsupported codec/i.test(text)) {
    return invalid("unsupported_format", `The image's compression is not supported (${text})`)
  }
  // Only bytes that start like one of our formats reach sharp, so any other failure is that file's
  // own data: a header or pixels that are truncated or broken where the decoder cannot go on.
  return invalid("corrupt_image", `The image data is corrupt or truncated (${text})`)
}
