import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { SettingsLive } from "../src/config.js"
import { worthStoring } from "../src/domain/formats.js"
import { SharpResizerLive } from "../src/resizer/SharpResizer.js"
import { Resizer } from "../src/services/Resizer.js"

// An extra is stored only when it is smaller than the baseline and the extras kept before it.

const bytes = (n: number) => ({ data: new Uint8Array(n) })

describe("worthStoring", () => {
  it("keeps an extra only when smaller than the baseline and every extra kept before it", () => {
    expect(worthStoring(100, [bytes(80), bytes(50)]).map((e) => e.data.byteLength)).toEqual([80, 50])
    // WebP larger than the JPEG goes; AVIF is measured against the JPEG then.
    expect(worthStoring(100, [bytes(120), bytes(60)]).map((e) => e.data.byteLength)).toEqual([60])
    // AVIF no smaller than the WebP kept goes: the WebP serves AVIF clients too.
    expect(worthStoring(100, [bytes(70), bytes(70)]).map((e) => e.data.byteLength)).toEqual([70])
    expect(worthStoring(100, [bytes(100)])).toEqual([])
    expect(worthStoring(100, [])).toEqual([])
  })

  it.effect(
    "on real pixels: the CMYK photo's WebP at 320 px is larger than its JPEG and is dropped",
    () =>
      Effect.gen(function* () {
        const resizer = yield* Resizer
        const file = new URL("./fixtures/images/cmyk-500x333-swop-icc.jpg", import.meta.url)
        const out = yield* resizer.resize(new Uint8Array(readFileSync(file)), { width: 320, height: 320 }, {
          formats: ["webp", "avif"]
        })
        const webp = out.variants.find((v) => v.format === "webp")
        const avif = out.variants.find((v) => v.format === "avif")
        expect(webp !== undefined && avif !== undefined).toBe(true)
        expect(webp!.data.byteLength).toBeGreaterThan(out.data.byteLength)
        expect(worthStoring(out.data.byteLength, out.variants).map((v) => v.format)).toEqual(
          avif!.data.byteLength < out.data.byteLength ? ["avif"] : []
        )
      }).pipe(
        Effect.provide(SharpResizerLive.pipe(
          Layer.provide(SettingsLive),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
        ))
      ),
    60_000
  )
})
