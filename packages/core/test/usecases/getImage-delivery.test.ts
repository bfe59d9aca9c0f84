/**
 * `getImage`'s delivery: the encoding chosen among a rendition's baseline and extras (by `format=`
 * and `Accept`), stable CDN URLs (`cdn`) against presigned ones (`signed`), originals always
 * presigned, and the placeholder. The fallback order is in getImage.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { makeMemoryServices, type MemoryServices } from "@imgpipe/core/testing"
import { Effect, Layer } from "effect"
import { deliverySettingsLayer, type DeliverySettingsShape } from "../../src/config/delivery.js"
import type { RequestedFormat } from "../../src/domain/delivery.js"
import type { ExtraFormat } from "../../src/domain/formats.js"
import type { ImageId } from "../../src/domain/ids.js"
import type { Placeholder } from "../../src/domain/image.js"
import { IMAGE_SIZES, type ImageSize, rawKey, renditionKey, variantKey } from "../../src/domain/sizes.js"
import { getImage } from "../../src/usecases/getImage.js"
import { requestUpload } from "../../src/usecases/requestUpload.js"
import { startProcessing } from "../../src/usecases/startProcessing.js"
import { stored, uploaded } from "./fixtures.js"

const CDN = "https://d111111abcdef8.cloudfront.net"
const CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
const SAFARI_15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"

const withDelivery = (memory: MemoryServices, settings: DeliverySettingsShape = { mode: "cdn", cdnUrl: CDN }) =>
  Layer.merge(memory.layer, deliverySettingsLayer(settings))

/** Bytes of each encoding, distinct so a test sees which one was described. */
const BYTES: Readonly<Record<"jpeg" | ExtraFormat, number>> = { jpeg: 5000, webp: 3000, avif: 2000 }

const PLACEHOLDER: Placeholder = {
  thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI",
  dominantColor: "#5a7d3c",
  width: 100,
  height: 75
}

/** A size written as the processing job writes it: the JPEG baseline and the `extras` beside it. */
const recordSize = (
  memory: MemoryServices,
  id: ImageId,
  size: ImageSize,
  extras: ReadonlyArray<ExtraFormat>,
  placeholder?: Placeholder
) =>
  memory.images.repository.recordRendition(
    id,
    size,
    {
      key: renditionKey(id, size),
      width: 1024,
      height: 768,
      bytes: BYTES.jpeg,
      contentType: "image/jpeg",
      variants: extras.map((format) => ({
        format,
        key: variantKey(id, size, format),
        bytes: BYTES[format],
        contentType: `image/${format}`
      })),
      ...(placeholder === undefined ? {} : { placeholder })
    },
    IMAGE_SIZES
  )

const get = (imageId: ImageId, size: ImageSize, format: RequestedFormat = "auto", accept?: string) =>
  getImage({ imageId, size, format, accept })

describe("getImage: encodings", () => {
  it.effect("serves the extra the Accept header names, the baseline otherwise, and describes what it serves", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* recordSize(memory, id, "medium", ["webp", "avif"])

      expect(yield* get(id, "medium", "auto", CHROME)).toMatchObject({
        servedSize: "medium",
        fallback: false,
        format: "avif",
        url: `${CDN}/${id}/medium.avif`,
        contentType: "image/avif",
        bytes: BYTES.avif,
        width: 1024,
        height: 768
      })
      expect(yield* get(id, "medium", "auto", SAFARI_15)).toMatchObject({
        format: "webp",
        url: `${CDN}/${id}/medium.webp`,
        contentType: "image/webp",
        bytes: BYTES.webp
      })
      for (const accept of [undefined, "*/*", "image/*", "image/avif;q=0, image/webp;q=0"]) {
        expect(yield* get(id, "medium", "auto", accept)).toMatchObject({
          format: "jpeg",
          url: `${CDN}/${id}/medium`,
          contentType: "image/jpeg",
          bytes: BYTES.jpeg
        })
      }
    }).pipe(Effect.provide(withDelivery(memory)))
  })

  it.effect("format= names the encoding; a missing extra falls back (AVIF → WebP → baseline), never 404", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* recordSize(memory, id, "small", ["webp"])
      yield* recordSize(memory, id, "large", [])

      expect((yield* get(id, "small", "webp", "image/jpeg")).format).toBe("webp")
      expect((yield* get(id, "small", "jpeg", CHROME)).format).toBe("jpeg")
      expect(yield* get(id, "small", "avif")).toMatchObject({ format: "webp", url: `${CDN}/${id}/small.webp` })
      expect(yield* get(id, "small", "auto", "image/avif")).toMatchObject({ format: "jpeg", url: `${CDN}/${id}/small` })
      // A size whose extras were not made (yet, or IMGPIPE_FORMATS=none): the baseline.
      expect(yield* get(id, "large", "avif", CHROME)).toMatchObject({ format: "jpeg", url: `${CDN}/${id}/large` })
      // A fallback size is served in the encoding the request picks too.
      expect(yield* get(id, "medium", "auto", CHROME)).toMatchObject({
        servedSize: "small",
        fallback: true,
        format: "webp",
        url: `${CDN}/${id}/small.webp`
      })
    }).pipe(Effect.provide(withDelivery(memory)))
  })

  it.effect("an image with alpha: the WebP baseline serves WebP; AVIF only where it exists", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* memory.images.repository.recordRendition(id, "small", {
        key: renditionKey(id, "small"),
        width: 320,
        height: 320,
        bytes: 900,
        contentType: "image/webp",
        variants: [{ format: "avif", key: variantKey(id, "small", "avif"), bytes: 700, contentType: "image/avif" }]
      }, IMAGE_SIZES)
      expect(yield* get(id, "small", "jpeg", CHROME)).toMatchObject({ format: "webp", url: `${CDN}/${id}/small` })
      expect(yield* get(id, "small", "webp")).toMatchObject({ format: "webp", url: `${CDN}/${id}/small` })
      expect(yield* get(id, "small", "auto", CHROME)).toMatchObject({ format: "avif", url: `${CDN}/${id}/small.avif` })
    }).pipe(Effect.provide(withDelivery(memory)))
  })
})

describe("getImage: cdn and signed URLs", () => {
  it.effect("cdn: the same unsigned URL every time, no expiry; the original stays presigned", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      const original = yield* get(id, "small", "auto", CHROME)
      expect(original).toMatchObject({
        servedSize: "original",
        format: "jpeg",
        url: `https://storage.test/raw/${rawKey(id)}?signature=test`,
        expiresAt: new Date(3_600_000)
      })

      yield* recordSize(memory, id, "small", ["webp"])
      const first = yield* get(id, "small", "auto", CHROME)
      const second = yield* get(id, "small", "auto", CHROME)
      expect(first.url).toBe(`${CDN}/${id}/small.webp`)
      expect(second.url).toBe(first.url)
      expect(first.expiresAt).toBeNull()
    }).pipe(Effect.provide(withDelivery(memory)))
  })

  it.effect("signed: the chosen encoding's key is presigned and expires", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      yield* recordSize(memory, id, "small", ["webp", "avif"])
      expect(yield* get(id, "small", "auto", CHROME)).toMatchObject({
        format: "avif",
        url: `https://storage.test/processed/${variantKey(id, "small", "avif")}?signature=test`,
        expiresAt: new Date(3_600_000)
      })
    }).pipe(Effect.provide(withDelivery(memory, { mode: "signed" })))
  })

  it.effect("the original's format is served as its own (png stays png)", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const ticket = yield* requestUpload({ contentType: "image/png", contentLength: 10 })
      yield* stored(memory, ticket.imageId)
      yield* startProcessing({ key: rawKey(ticket.imageId), bytes: 10 })
      expect(yield* get(ticket.imageId, "large", "avif", CHROME)).toMatchObject({
        servedSize: "original",
        format: "png",
        contentType: "image/png"
      })
    }).pipe(Effect.provide(withDelivery(memory)))
  })
})

describe("getImage: placeholder", () => {
  it.effect("null until the small size brings one, then on every answer", () => {
    const memory = makeMemoryServices()
    return Effect.gen(function* () {
      const id = yield* uploaded(memory)
      expect((yield* get(id, "large")).placeholder).toBeNull()
      yield* recordSize(memory, id, "small", [], PLACEHOLDER)
      expect((yield* get(id, "large")).placeholder).toEqual(PLACEHOLDER)
      expect((yield* get(id, "small", "auto", CHROME)).placeholder).toEqual(PLACEHOLDER)
    }).pipe(Effect.provide(withDelivery(memory)))
  })
})
