/**
 * Delivery on the AWS code path (`IMGPIPE_DELIVERY=cdn`, SYSTEM.md "Delivery").
 *
 * The emulator first: with cdn it stands in for CloudFront in front of a private bucket (anonymous
 * GET/HEAD of the processed bucket's objects only; everything else anonymous is refused, as S3
 * refuses it), and it returns the `Cache-Control` an object was written with (S3 keeps it; fauxqs
 * alone drops it), through CopyObject too.
 *
 * Then `bun run start:aws-local` as a person runs it, with `IMGPIPE_FORMATS=webp,avif`: a photo
 * goes to `ready`, and `get_image` redirects by `Accept` to the same unsigned URL every time —
 * `<emulator>/processed-image-local/<id>/<size>[.webp|.avif]` — which serves the right type with
 * `Cache-Control: public, max-age=31536000, immutable`.
 */
import { CopyObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { testDatabaseKind } from "@imgpipe/core/test/support/database"
import { Effect, Exit, Scope } from "effect"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { type AwsEmulator, makeAwsEmulator, stageNames } from "../src/local/emulator.js"
import { type AwsLocal, root, startAwsLocal, uploadJpeg } from "./support/aws-local.js"

const IMMUTABLE = "public, max-age=31536000, immutable"
const KEYS = { accessKeyId: "imgpipe-test", secretAccessKey: "imgpipe-test-secret" }

/** An emulator for the duration of a describe block. */
const emulatorFor = (anonymousRenditionReads: boolean) => {
  const scope = Effect.runSync(Scope.make())
  let emulator: AwsEmulator | undefined
  beforeAll(async () => {
    emulator = await Effect.runPromise(
      makeAwsEmulator({
        port: 0,
        region: "us-east-1",
        keys: KEYS,
        ...stageNames("delivery"),
        visibilityTimeoutSeconds: 30,
        maxReceiveCount: 3,
        anonymousRenditionReads
      }).pipe(Scope.extend(scope))
    )
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return () => {
    if (emulator === undefined) throw new Error("the emulator did not start")
    return emulator
  }
}

const objectUrl = (emulator: AwsEmulator, bucket: string, key: string) => `${emulator.endpoint}/${bucket}/${key}`

describe("the emulator with IMGPIPE_DELIVERY=cdn: a private bucket behind CloudFront", () => {
  const emulator = emulatorFor(true)
  const put = (bucket: string, key: string, cacheControl?: string) =>
    emulator().s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: Buffer.from(`bytes of ${key}`),
        ContentType: "image/webp",
        CacheControl: cacheControl
      })
    )

  it("serves a rendition to an anonymous GET and HEAD, with the Cache-Control it was written with", async () => {
    const { buckets, cdnUrl, env } = emulator()
    await put(buckets.processed, "id-1/small.webp", IMMUTABLE)
    expect(cdnUrl).toBe(`${emulator().endpoint}/${buckets.processed}`)
    expect(env.IMGPIPE_CDN_URL).toBe(cdnUrl)
    for (const method of ["GET", "HEAD"]) {
      const response = await fetch(`${cdnUrl}/id-1/small.webp`, { method })
      expect(response.status, method).toBe(200)
      expect(response.headers.get("content-type"), method).toBe("image/webp")
      expect(response.headers.get("cache-control"), method).toBe(IMMUTABLE)
    }
    expect(await (await fetch(`${cdnUrl}/id-1/small.webp`)).text()).toBe("bytes of id-1/small.webp")
  })

  it("keeps Cache-Control through CopyObject unless the copy replaces the metadata; none when none was written", async () => {
    const { buckets, s3 } = emulator()
    await put(buckets.processed, "id-2/medium", IMMUTABLE)
    await s3.send(
      new CopyObjectCommand({
        Bucket: buckets.processed,
        Key: "id-3/medium",
        CopySource: `${buckets.processed}/id-2/medium`
      })
    )
    const copied = await fetch(objectUrl(emulator(), buckets.processed, "id-3/medium"))
    expect(copied.headers.get("cache-control")).toBe(IMMUTABLE)
    await s3.send(
      new CopyObjectCommand({
        Bucket: buckets.processed,
        Key: "id-4/medium",
        CopySource: `${buckets.processed}/id-2/medium`,
        MetadataDirective: "REPLACE",
        CacheControl: "no-store",
        ContentType: "image/jpeg"
      })
    )
    expect((await fetch(objectUrl(emulator(), buckets.processed, "id-4/medium"))).headers.get("cache-control")).toBe(
      "no-store"
    )
    // Overwritten without one: S3 forgets the old value.
    await put(buckets.processed, "id-2/medium")
    expect((await fetch(objectUrl(emulator(), buckets.processed, "id-2/medium"))).headers.get("cache-control"))
      .toBeNull()
  })

  it("refuses anonymous access to originals, anonymous writes, listings and sub-resources (403 AccessDenied)", async () => {
    const { buckets } = emulator()
    await put(buckets.raw, "original-1")
    await put(buckets.processed, "id-5/large", IMMUTABLE)
    const refused = [
      ["GET", objectUrl(emulator(), buckets.raw, "original-1")],
      ["HEAD", objectUrl(emulator(), buckets.raw, "original-1")],
      ["PUT", objectUrl(emulator(), buckets.processed, "id-5/large")],
      ["DELETE", objectUrl(emulator(), buckets.processed, "id-5/large")],
      ["PUT", objectUrl(emulator(), buckets.raw, "original-2")],
      ["GET", `${emulator().endpoint}/${buckets.processed}?list-type=2`],
      ["GET", `${objectUrl(emulator(), buckets.processed, "id-5/large")}?tagging`]
    ] as const
    for (const [method, url] of refused) {
      const response = await fetch(url, { method, ...(method === "PUT" ? { body: "x" } : {}) })
      expect(response.status, `${method} ${url}`).toBe(403)
      if (method !== "HEAD") expect(await response.text(), `${method} ${url}`).toContain("AccessDenied")
    }
    // Nothing was written or removed by the refused requests.
    expect((await fetch(objectUrl(emulator(), buckets.processed, "id-5/large"))).status).toBe(200)
    expect(await (await fetch(objectUrl(emulator(), buckets.processed, "id-5/large"))).text()).toBe(
      "bytes of id-5/large"
    )
    // A missing rendition: S3's 404 NoSuchKey (CloudFront would pass on the bucket's answer).
    expect((await fetch(objectUrl(emulator(), buckets.processed, "id-5/nothing"))).status).toBe(404)
  })
})

describe("the emulator with IMGPIPE_DELIVERY=signed: both buckets closed", () => {
  const emulator = emulatorFor(false)

  it("refuses anonymous reads of renditions and sets no IMGPIPE_CDN_URL", async () => {
    const { buckets, cdnUrl, env, s3 } = emulator()
    await s3.send(new PutObjectCommand({ Bucket: buckets.processed, Key: "id-1/small", Body: "x" }))
    expect(cdnUrl).toBeUndefined()
    expect(env).not.toHaveProperty("IMGPIPE_CDN_URL")
    expect((await fetch(objectUrl(emulator(), buckets.processed, "id-1/small"))).status).toBe(403)
  })
})

// ---- start:aws-local, end to end -------------------------------------------------------------

const photo = new Uint8Array(
  readFileSync(resolve(root, "packages/core/test/fixtures/images/photo-1280x1024-grass-progressive.jpg"))
)
/** Chrome's `Accept` for images. */
const CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

describe(`get_image on start:aws-local with IMGPIPE_DELIVERY=cdn (${testDatabaseKind})`, () => {
  let local: AwsLocal

  beforeAll(async () => {
    local = await startAwsLocal({ IMGPIPE_DELIVERY: "cdn", IMGPIPE_FORMATS: "webp,avif" })
  }, 150_000)
  afterAll(() => local?.stop(), 30_000)

  /** POST /upload, PUT the photo, wait for ready; the image id. */
  const uploadReady = async (): Promise<string> => {
    const imageId = await uploadJpeg(local.api, photo)
    await local.poll("ready", 90, async () => {
      const status = (await (await fetch(`${local.api}/images/${imageId}`)).json()) as { status: string }
      if (status.status === "failed") throw new Error(JSON.stringify(status))
      return status.status === "ready" ? status : undefined
    })
    return imageId
  }

  const redirect = async (id: string, size: string, accept?: string) => {
    const response = await fetch(`${local.api}/get_image?image_id=${id}&image_size=${size}`, {
      redirect: "manual",
      headers: accept === undefined ? {} : { accept }
    })
    expect(response.status).toBe(302)
    expect(response.headers.get("vary") ?? "").toMatch(/accept/i)
    return response.headers.get("location") ?? ""
  }

  it(
    "redirects by Accept to stable unsigned URLs on the emulator that serve the format, cacheable for a year",
    async () => {
      const id = await uploadReady()
      const cdn = new RegExp(`^http://127\\.0\\.0\\.1:\\d+/processed-image-local/${id}/medium`)
      const cases = [
        [undefined, "", "image/jpeg"],
        ["*/*", "", "image/jpeg"],
        ["image/webp,*/*", ".webp", "image/webp"],
        [CHROME, ".avif", "image/avif"]
      ] as const
      for (const [accept, suffix, contentType] of cases) {
        const location = await redirect(id, "medium", accept)
        expect(location, String(accept)).toMatch(cdn)
        expect(location.endsWith(`/${id}/medium${suffix}`), `${accept}: ${location}`).toBe(true)
        // Stable and unsigned: no query, and the same URL the next time.
        expect(new URL(location).search).toBe("")
        expect(await redirect(id, "medium", accept)).toBe(location)
        const image = await fetch(location)
        expect(image.status, location).toBe(200)
        expect(image.headers.get("content-type"), location).toBe(contentType)
        expect(image.headers.get("cache-control"), location).toBe(IMMUTABLE)
        expect((await image.arrayBuffer()).byteLength, location).toBeGreaterThan(1000)
      }
      // The JSON form names the same URL, which does not expire.
      const described = await fetch(`${local.api}/get_image?image_id=${id}&image_size=medium&format=webp`, {
        headers: { accept: "application/json" }
      })
      expect(described.status).toBe(200)
      const body = (await described.json()) as Record<string, unknown>
      expect(body).toMatchObject({ format: "webp", content_type: "image/webp", expires_at: null })
      expect(body["url"]).toBe(await redirect(id, "medium", "image/webp"))
    },
    150_000
  )
})
