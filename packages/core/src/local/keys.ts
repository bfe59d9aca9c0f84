/**
 * Object keys and buckets on disk. Keys contain no `.` except an extra encoding's `.webp`/`.avif`,
 * so sidecars (`*.meta.json`) and temporary files (`*.<hex>.tmp`) can never collide with an object,
 * and no key can climb out of its bucket folder.
 */
import { StorageError } from "../domain/errors.js"
import type { Bucket } from "../services/ObjectStorage.js"

/**
 * `<segment>` or `<segment>/<segment>[.webp|.avif]` from `[A-Za-z0-9_-]`: covers `<uuid>`,
 * `<uuid>/<size>` and `<uuid>/<size>.<extra>` (variantKey), and leaves no way to write `..`, an
 * absolute path, a sidecar name or a temporary file name.
 */
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}(?:\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}(?:\.(?:webp|avif))?)?$/

export const isValidKey = (key: string): boolean => KEY_PATTERN.test(key)

export const isBucket = (value: string | undefined): value is Bucket => value === "raw" || value === "processed"

export const invalidKey = (operation: string, key: string) =>
  new StorageError({ operation, key, message: "invalid object key (expected <id> or <id>/<name>)" })

/** The key as URL path segments (each segment encoded, the `/` between them kept). */
export const encodeKeyForPath = (key: string): string => key.split("/").map(encodeURIComponent).join("/")
