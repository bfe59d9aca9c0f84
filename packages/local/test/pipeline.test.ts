/**
 * The whole pipeline over HTTP against the embedded runner, started as `bun run start` would:
 * every accepted fixture goes upload → PUT → ready with correct renditions; bad files end `failed`
 * with a reason and `get_image` answers 422; the API refuses bad requests with JSON errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import sharp, { type Sharp } from "sharp"
import {
  contentTypeOf,
  fixture,
  getImage,
  getStatus,
  type ImageStatus,
  requestUpload,
  uploadBytes,
  waitUntilSettled
} from "./support/client.js"
import { makeTestDatabase, removeDir, type Runner, startRunner } from "./support/runner.js"

const BOXES = { small: 320, medium: 1024, large: 2048 } as const
type Size = keyof typeof BOXES
const SIZES = Object.keys(BOXES) as Array<Size>

const ACCEPTED = [
  "photo-6028x3391-bird-20mp.jpg",
  "photo-1280x1024-grass-progressive.jpg",
  "exif-orientation-6.jpg",
  "cmyk-500x333-swop-icc.jpg",
  "grayscale-2560x1600.jpg",
  "rgb16-290x442.png",
  "alpha-2048x1536-rgba.png",
  "photo-3024x4032-iphone-xs-p3.avif",
  "photo-246x345.tiff",
  "photo-1024x772.webp",
  "animated-370x285-10frames.gif"
]

let runner: Runner
let database: Awaited<ReturnType<typeof makeTestDatabase>>

beforeAll(async () => {
  database = await makeTestDatabase()
  runner = await startRunner(database ? { databaseUrl: database.url } : {})
})

afterAll(async () => {
  const code = await runner?.stop("SIGTERM")
  expect(code).toBe(0)
  removeDir(runner.dataDir)
  await database?.drop()
})

/** Displayed size of the source (EXIF orientation applied; first frame of an animation). */
const displayedSize = async (bytes: Uint8Array) => {
  const meta = await sharp(bytes).metadata()
  const height = meta.pageHeight ?? meta.height
  return (meta.orientation ?? 1) >= 5 ? { width: height, height: meta.width } : { width: meta.width, height }
}

const download = async (imageId: string, size: Size) => {
  const answer = await getImage(runner.baseUrl, imageId, size, { headers: { accept: "application/json" } })
  expect(answer.status).toBe(200)
  const body = (await answer.json()) as {
    served_size: string
    url: string
    content_type: string
    width: number
    height: number
  }
  expect(body.served_size).toBe(size)
  const object = await fetch(body.url)
  expect(object.status).toBe(200)
  expect(object.headers.get("content-type")).toBe(body.content_type)
  expect(object.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
  return { body, bytes: new Uint8Array(await object.arrayBuffer()) }
}

describe("embedded runner: accepted images", () => {
  const settled = new Map<string, Promise<{ status: ImageStatus; uploadedAt: number; readyAt: number }>>()
  const settle = (name: string) => {
    let result = settled.get(name)
    if (!result) {
      result = (async () => {
        const bytes = fixture(name)
        const ticket = await uploadBytes(runner.baseUrl, bytes, contentTypeOf(name))
        const uploadedAt = performance.now()
        const status = await waitUntilSettled(runner.baseUrl, ticket.image_id, 120_000)
        return { status, uploadedAt, readyAt: performance.now() }
      })()
      settled.set(name, result)
    }
    return result
  }

  it.each(ACCEPTED)("%s → ready, every rendition fits its box and keeps the aspect ratio", async (name) => {
    const source = await displayedSize(fixture(name))
    const { status, uploadedAt, readyAt } = await settle(name)
    expect(status.status, JSON.stringify(status.error)).toBe("ready")
    expect(status.original?.width).toBe(source.width)
    expect(status.original?.height).toBe(source.height)
    if (name.includes("20mp")) {
      console.log(`[timing] ${name}: upload complete → all three sizes ready in ${Math.round(readyAt - uploadedAt)} ms`)
    }
    const sourceMeta = await sharp(fixture(name)).metadata()
    const expectAlpha = name.startsWith("alpha-")
    for (const size of SIZES) {
      const { body, bytes } = await download(status.image_id, size)
      const meta = await sharp(bytes).metadata()
      const box = BOXES[size]
      const scale = Math.min(box / source.width, box / source.height, 1)
      expect(meta.width).toBeLessThanOrEqual(Math.min(box, source.width))
      expect(meta.height).toBeLessThanOrEqual(Math.min(box, source.height))
      expect(Math.abs(meta.width - source.width * scale)).toBeLessThanOrEqual(1)
      expect(Math.abs(meta.height - source.height * scale)).toBeLessThanOrEqual(1)
      expect({ width: body.width, height: body.height }).toEqual({ width: meta.width, height: meta.height })
      expect(status.renditions[size]).toMatchObject({ status: "ready", width: meta.width, height: meta.height })
      if (expectAlpha) {
        expect(meta.format).toBe("webp")
        expect(body.content_type).toBe("image/webp")
        expect(meta.hasAlpha).toBe(true)
      } else {
        expect(meta.format).toBe("jpeg")
        expect(body.content_type).toBe("image/jpeg")
        expect(meta.isProgressive).toBe(true)
      }
      // Metadata stripped, colour converted: no EXIF, no ICC profile left, 8-bit sRGB (or grey).
      expect(meta.exif).toBeUndefined()
      expect(meta.icc).toBeUndefined()
      expect(meta.orientation ?? 1).toBe(1)
      expect(meta.depth).toBe("uchar")
      expect(["srgb", "b-w"]).toContain(meta.space)
      if (sourceMeta.space === "cmyk") expect(meta.channels).toBe(3)
    }
  })

  it("exif-orientation-6.jpg comes out the right way up (pixels, not only dimensions)", async () => {
    const name = "exif-orientation-6.jpg"
    const { status } = await settle(name)
    const { bytes } = await download(status.image_id, "medium")
    // Reference: the stored pixels (no orientation applied) turned 90° clockwise, as EXIF 6 says.
    const stored = await sharp(fixture(name)).raw().toBuffer({ resolveWithObject: true })
    const asStored = () => sharp(stored.data, { raw: stored.info })
    const compareAt = { width: 48, height: 64, fit: "fill" as const }
    const pixels = (image: Sharp) => image.resize(compareAt).removeAlpha().toColourspace("srgb").raw().toBuffer()
    const served = await pixels(sharp(bytes))
    const upright = await pixels(asStored().rotate(90))
    const sideways = await pixels(asStored())
    const meanDiff = (a: Buffer, b: Buffer) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length
    expect(meanDiff(served, upright)).toBeLessThan(8)
    expect(meanDiff(served, sideways)).toBeGreaterThan(3 * meanDiff(served, upright) + 10)
  })

  it("an animated GIF gives its first frame", async () => {
    const { status } = await settle("animated-370x285-10frames.gif")
    const { bytes } = await download(status.image_id, "small")
    const meta = await sharp(bytes).metadata()
    expect(meta.pages ?? 1).toBe(1)
    expect(meta.height).toBe(Math.round(285 * (320 / 370)))
  })
})

describe("embedded runner: refused content", () => {
  it.each([
    ["empty.jpg", "image/jpeg", "empty_file"],
    ["not-an-image-text.jpg", "image/jpeg", "not_an_image"],
    ["truncated.jpg", "image/jpeg", "corrupt_image"],
    // Mislabelled: HEIC bytes declared as JPEG are found out from the bytes.
    ["photo-2566x3313-iphone11-p3.heic", "image/jpeg", "unsupported_format"]
  ])("%s declared as %s ends failed with %s and get_image answers 422", async (name, contentType, code) => {
    const ticket = await uploadBytes(runner.baseUrl, fixture(name), contentType)
    const status = await waitUntilSettled(runner.baseUrl, ticket.image_id)
    expect(status.status).toBe("failed")
    expect(status.error?.code).toBe(code)
    expect(status.error?.message.length).toBeGreaterThan(0)
    for (const size of SIZES) {
      const answer = await getImage(runner.baseUrl, ticket.image_id, size)
      expect(answer.status).toBe(422)
      expect(await answer.json()).toEqual({ error: code, message: status.error?.message })
    }
  })

  it("HEIC is refused at /upload with 415 and nothing is created", async () => {
    const bytes = fixture("photo-2566x3313-iphone11-p3.heic")
    const answer = await requestUpload(runner.baseUrl, { content_type: "image/heic", content_length: bytes.byteLength })
    expect(answer.status).toBe(415)
    const body = (await answer.json()) as { error: string; message: string }
    expect(body.error).toBe("unsupported_type")
    expect(body.message).toMatch(/HEIC/)
  })
})

describe("embedded runner: request errors", () => {
  const expectError = async (answer: Response, status: number, code: string) => {
    expect(answer.status).toBe(status)
    const body = (await answer.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(["error", "message"])
    expect(body.error).toBe(code)
    expect(typeof body.message).toBe("string")
  }

  it("get_image: missing or invalid image_id, unknown size → 400; unknown id → 404", async () => {
    await expectError(await fetch(`${runner.baseUrl}/get_image?image_size=small`), 400, "bad_request")
    await expectError(await getImage(runner.baseUrl, "not-a-uuid", "small"), 400, "bad_request")
    await expectError(await fetch(`${runner.baseUrl}/get_image?image_id=${crypto.randomUUID()}`), 400, "bad_request")
    await expectError(await getImage(runner.baseUrl, crypto.randomUUID(), "huge"), 400, "bad_request")
    await expectError(await getImage(runner.baseUrl, crypto.randomUUID(), "small"), 404, "not_found")
  })

  it("/upload: bad body → 400, over the limit → 413, unsupported type → 415", async () => {
    const post = (body: string) =>
      fetch(`${runner.baseUrl}/upload`, { method: "POST", headers: { "content-type": "application/json" }, body })
    await expectError(await post("{not json"), 400, "bad_request")
    await expectError(await post(JSON.stringify({ content_type: "image/jpeg" })), 400, "bad_request")
    await expectError(
      await post(JSON.stringify({ content_type: "image/jpeg", content_length: -1 })),
      400,
      "bad_request"
    )
    await expectError(
      await post(JSON.stringify({ content_type: "image/jpeg", content_length: "12" })),
      400,
      "bad_request"
    )
    await expectError(
      await requestUpload(runner.baseUrl, { content_type: "image/jpeg", content_length: 26_214_401 }),
      413,
      "too_large"
    )
    await expectError(
      await requestUpload(runner.baseUrl, { content_type: "image/svg+xml", content_length: 100 }),
      415,
      "unsupported_type"
    )
  })

  it("/images/{id}: unknown → 404, not a uuid → 400", async () => {
    await expectError(await fetch(`${runner.baseUrl}/images/${crypto.randomUUID()}`), 404, "not_found")
    await expectError(await fetch(`${runner.baseUrl}/images/nope`), 400, "bad_request")
  })

  it("an image whose upload never arrived: status awaiting_upload, get_image 404", async () => {
    const answer = await requestUpload(runner.baseUrl, { content_type: "image/png", content_length: 1000 })
    const ticket = (await answer.json()) as { image_id: string }
    expect((await getStatus(runner.baseUrl, ticket.image_id)).status).toBe("awaiting_upload")
    await expectError(await getImage(runner.baseUrl, ticket.image_id, "small"), 404, "not_found")
  })
})
