/**
 * Duplicate uploads on the embedded runner, end to end over HTTP with real sharp and the disk
 * storage: the same bytes uploaded twice end `ready` twice, the second with `duplicate_of` and the
 * first's renditions served byte for byte, and no second resize (the `/metrics` counters: the
 * second upload's jobs count as `copied` and add nothing to the resize histogram). Bytes refused
 * once are refused again with the same code and message.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, getImage, getStatus, uploadBytes, waitUntilSettled } from "./support/client.js"

const PHOTO = "photo-1280x1024-grass-progressive.jpg"
const SIZES = ["small", "medium", "large"] as const

/** The samples of `name` with these labels, summed (0 when absent). */
const metric = (text: string, name: string, labels: Record<string, string>) =>
  text.split("\n").filter((line) => {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) return false
    return Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))
  }).reduce((total, line) => total + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

const scrape = (baseUrl: string) => Effect.promise(() => fetch(`${baseUrl}/metrics`).then((r) => r.text()))

/** The bytes `get_image` leads to (the redirect followed), and what it served. */
const served = (baseUrl: string, id: string, size: string, accept: string) =>
  Effect.promise(async () => {
    const answer = await getImage(baseUrl, id, size, { headers: { accept } })
    expect(answer.status).toBe(302)
    const location = new URL(answer.headers.get("location") ?? "", baseUrl)
    const object = await fetch(location)
    expect(object.status).toBe(200)
    return {
      size: answer.headers.get("x-image-size"),
      contentType: object.headers.get("content-type"),
      bytes: new Uint8Array(await object.arrayBuffer())
    }
  })

interface DeliveryStatus {
  readonly status: string
  readonly duplicate_of: string | null
  readonly placeholder: { readonly thumbhash: string; readonly dominant_color: string } | null
  readonly error?: { readonly code: string; readonly message: string }
}

const settled = (baseUrl: string, bytes: Uint8Array, contentType: string) =>
  Effect.promise(async () => {
    const { image_id } = await uploadBytes(baseUrl, bytes, contentType)
    await waitUntilSettled(baseUrl, image_id)
    return { id: image_id, status: (await getStatus(baseUrl, image_id)) as unknown as DeliveryStatus }
  })

describe("duplicate uploads (embedded runner)", () => {
  layer(makeTestApp({ workers: true, env: { IMGPIPE_FORMATS: "webp" } }), {
    excludeTestServices: true,
    timeout: 180_000
  })((it) => {
    it.effect("the same bytes twice: the second is ready with duplicate_of, the same renditions, and no resize", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const bytes = fixture(PHOTO)
        const before = yield* scrape(baseUrl)
        const first = yield* settled(baseUrl, bytes, "image/jpeg")
        expect(first.status).toMatchObject({ status: "ready", duplicate_of: null })
        expect(first.status.placeholder?.dominant_color).toMatch(/^#[0-9a-f]{6}$/)
        const between = yield* scrape(baseUrl)

        const second = yield* settled(baseUrl, bytes, "image/jpeg")
        expect(second.status).toMatchObject({
          status: "ready",
          duplicate_of: first.id,
          placeholder: first.status.placeholder
        })
        const after = yield* scrape(baseUrl)

        for (const size of SIZES) {
          const count = (text: string, name: string, outcome?: string) =>
            metric(text, name, outcome === undefined ? { size } : { size, outcome })
          // The first upload was resized, the second copied: its jobs add no resize.
          expect(
            count(between, "imgpipe_renditions_total", "processed") -
              count(before, "imgpipe_renditions_total", "processed")
          )
            .toBe(1)
          expect(
            count(after, "imgpipe_renditions_total", "processed") -
              count(between, "imgpipe_renditions_total", "processed")
          )
            .toBe(0)
          expect(
            count(after, "imgpipe_renditions_total", "copied") - count(between, "imgpipe_renditions_total", "copied")
          )
            .toBe(1)
          expect(
            count(after, "imgpipe_resize_duration_seconds_count") -
              count(between, "imgpipe_resize_duration_seconds_count")
          ).toBe(0)

          const accepts = [["image/jpeg", "image/jpeg"], ["image/webp,*/*", "image/webp"]] as const
          for (const [accept, contentType] of accepts) {
            const a = yield* served(baseUrl, first.id, size, accept)
            const b = yield* served(baseUrl, second.id, size, accept)
            expect(b.size).toBe(size)
            expect([a.contentType, b.contentType]).toEqual([contentType, contentType])
            expect(b.bytes.byteLength).toBeGreaterThan(0)
            expect(b.bytes).toEqual(a.bytes)
          }
        }
      }))

    it.effect("bytes refused once are refused again with the same code and message", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const bytes = new TextEncoder().encode(`not an image at all, only text ${Date.now()}`)
        const before = yield* scrape(baseUrl)
        const first = yield* settled(baseUrl, bytes, "image/jpeg")
        const second = yield* settled(baseUrl, bytes, "image/jpeg")
        expect(first.status).toMatchObject({ status: "failed", error: { code: "not_an_image" }, duplicate_of: null })
        expect(second.status).toMatchObject({ status: "failed", error: first.status.error, duplicate_of: null })
        const after = yield* scrape(baseUrl)
        // One refusal per upload (the first job to refuse marks the image; the other sizes are skipped).
        const rejected = SIZES.map((size) =>
          metric(after, "imgpipe_renditions_total", { size, outcome: "rejected" }) -
          metric(before, "imgpipe_renditions_total", { size, outcome: "rejected" })
        )
        expect(rejected.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2)
      }))
  })
})
