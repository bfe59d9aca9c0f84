/**
 * The disk storage's signed URLs on their own: no disk, no server. Time is the `TestClock` (it
 * starts at 0), so expiry is tested by moving it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import { makeUrlSigner, type SignedQuery } from "../src/local/signed-urls.js"

const KEY = "0192d0c4-8e7a-7cc0-9a3b-5f7f3f1e2a10"
const secretOf = (text: string) => Redacted.make<Uint8Array>(Buffer.from(text, "utf8"))
const signer = makeUrlSigner({ secret: secretOf("a-test-secret-of-some-length"), publicUrl: "https://img.example.com" })

/** The URL's path key and query as the storage routes hand them over (a repeated name is an array). */
const parse = (url: string) => {
  const parsed = new URL(url)
  const query: Record<string, string | Array<string>> = {}
  for (const [name, value] of parsed.searchParams) {
    const seen = query[name]
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]
  }
  const [, , bucket = "", ...key] = parsed.pathname.split("/").map(decodeURIComponent)
  return { bucket, key: key.join("/"), query: query as SignedQuery }
}

const edit = (url: string, change: (url: URL) => void) => {
  const parsed = new URL(url)
  change(parsed)
  return parsed.toString()
}

const flip = (hex: string) => (hex[0] === "0" ? "1" : "0") + hex.slice(1)

const signUpload = (input: { readonly ttl?: number; readonly contentLength?: number } = {}) =>
  signer.signUpload({
    key: KEY,
    contentType: " Image/JPEG ",
    contentLength: input.contentLength ?? 1000,
    expiresInSeconds: input.ttl ?? 900
  })

describe("signed storage URLs", () => {
  it.effect("an upload URL verifies to the key, type and length it was signed for", () =>
    Effect.gen(function* () {
      const upload = yield* signUpload()
      expect(upload.url).toMatch(
        new RegExp(
          `^https://img\\.example\\.com/storage/raw/${KEY}\\?content_type=image%2Fjpeg&content_length=1000&expires=900&sig=[0-9a-f]{64}$`
        )
      )
      expect(upload.headers).toEqual({ "content-type": "image/jpeg", "if-none-match": "*" })
      expect(upload.expiresAt.getTime()).toBe(900_000)
      const { key, query } = parse(upload.url)
      expect(yield* signer.verifyUpload({ key, query })).toMatchObject({
        key: KEY,
        contentType: "image/jpeg",
        contentLength: 1000
      })
    }))

  it.effect("a download URL verifies to its bucket and key", () =>
    Effect.gen(function* () {
      const download = yield* signer.signDownload({ bucket: "processed", key: `${KEY}/small`, expiresInSeconds: 60 })
      expect(download.url).toMatch(
        new RegExp(`^https://img\\.example\\.com/storage/processed/${KEY}/small\\?expires=60&sig=[0-9a-f]{64}$`)
      )
      expect(yield* signer.verifyDownload(parse(download.url))).toEqual({ bucket: "processed", key: `${KEY}/small` })
    }))

  it.effect("a tampered upload URL is a signature_mismatch", () =>
    Effect.gen(function* () {
      const upload = yield* signUpload()
      const download = yield* signer.signDownload({ bucket: "raw", key: KEY, expiresInSeconds: 900 })
      const tampered = [
        edit(upload.url, (url) => url.searchParams.set("sig", flip(url.searchParams.get("sig") ?? ""))),
        edit(upload.url, (url) => url.searchParams.set("sig", "abc")),
        edit(upload.url, (url) => url.searchParams.delete("sig")),
        edit(upload.url, (url) => (url.pathname = `/storage/raw/${KEY.replace(/0$/, "1")}`)),
        edit(upload.url, (url) => url.searchParams.set("expires", "99999999999")),
        edit(upload.url, (url) => url.searchParams.delete("expires")),
        edit(upload.url, (url) => url.searchParams.append("expires", "900")),
        edit(upload.url, (url) => url.searchParams.set("content_type", "image/png")),
        edit(upload.url, (url) => url.searchParams.set("content_length", "1001")),
        // The same number written another way is not the string that was signed.
        edit(upload.url, (url) => url.searchParams.set("content_length", "01000")),
        // A download URL is not an upload URL.
        download.url
      ]
      for (const url of tampered) {
        const { key, query } = parse(url)
        const refused = yield* Effect.flip(signer.verifyUpload({ key, query }))
        expect(refused).toMatchObject({ _tag: "SignedUrlRefused", code: "signature_mismatch" })
      }
      // Signed with another secret.
      const other = makeUrlSigner({
        secret: secretOf("another-secret-of-some-length"),
        publicUrl: "https://img.example.com"
      })
      const refused = yield* Effect.flip(other.verifyUpload(parse(upload.url)))
      expect(refused.code).toBe("signature_mismatch")
    }))

  it.effect("a tampered download URL is a signature_mismatch", () =>
    Effect.gen(function* () {
      const download = yield* signer.signDownload({ bucket: "processed", key: `${KEY}/small`, expiresInSeconds: 60 })
      const tampered = [
        download.url.replace("/small?", "/large?"),
        download.url.replace("/processed/", "/raw/"),
        download.url.replace("/processed/", "/other/"),
        download.url.replace("expires=60", "expires=61"),
        edit(download.url, (url) => url.searchParams.set("sig", flip(url.searchParams.get("sig") ?? "")))
      ]
      for (const url of tampered) {
        const refused = yield* Effect.flip(signer.verifyDownload(parse(url)))
        expect(refused.code).toBe("signature_mismatch")
      }
    }))

  it.effect("a URL is valid through its expiry second and url_expired after it", () =>
    Effect.gen(function* () {
      const upload = yield* signUpload({ ttl: 1 })
      const download = yield* signer.signDownload({ bucket: "raw", key: KEY, expiresInSeconds: 1 })
      yield* TestClock.adjust("1 second")
      yield* signer.verifyUpload(parse(upload.url))
      yield* signer.verifyDownload(parse(download.url))
      yield* TestClock.adjust("1 second")
      expect((yield* Effect.flip(signer.verifyUpload(parse(upload.url)))).code).toBe("url_expired")
      expect((yield* Effect.flip(signer.verifyDownload(parse(download.url)))).code).toBe("url_expired")
    }))

  it.effect("signing refuses a bad lifetime, key, type or length", () =>
    Effect.gen(function* () {
      for (const ttl of [0, 8 * 24 * 3600, 1.5]) {
        expect((yield* Effect.flip(signUpload({ ttl })))._tag).toBe("StorageError")
      }
      expect((yield* Effect.flip(signUpload({ contentLength: -1 })))._tag).toBe("StorageError")
      const badType = signer.signUpload({
        key: KEY,
        contentType: "image/jpeg\nx: y",
        contentLength: 1,
        expiresInSeconds: 60
      })
      expect((yield* Effect.flip(badType))._tag).toBe("StorageError")
      for (const key of ["..", "a/b/c", `${KEY}.meta.json`, ""]) {
        const download = signer.signDownload({ bucket: "raw", key, expiresInSeconds: 60 })
        expect((yield* Effect.flip(download))._tag).toBe("StorageError")
      }
    }))
})
