/**
 * The resize section in docs/benchmarks.md and in the summary table: every figure for every mix
 * measured (`photos`, then `phone`): the per-photo table, the mix-weighted means, the refusals, the
 * proposals sized from the columns and where the per-size path loses against one decode.
 */
import { isError, resizeAggregates, type Targets } from "../report/results.js"
import type { Row } from "../report/summary.js"
import { fmt, fmtBytes, mdTable } from "../util.js"
import { MAGICK_INSTALL } from "./imagemagick.js"
import {
  MAGICK_TARGET,
  type MethodAggregate,
  METHODS,
  mixesOf,
  ONE_DECODE_TARGET,
  perUpload,
  type PhotoResult,
  type ResizeMix,
  type ResizeSection
} from "./methods.js"

/** What a mix is, for the text: its photos' pixels and bytes, weighted. */
const mixFacts = (mix: ResizeMix) => {
  const weight = mix.photos.reduce((s, p) => s + p.weight, 0)
  const refusedWeight = mix.refused.reduce((s, r) => s + r.weight, 0)
  const mean = (pick: (p: PhotoResult) => number) =>
    weight === 0 ? Number.NaN : mix.photos.reduce((s, p) => s + p.weight * pick(p), 0) / weight
  return {
    megapixels: mean((p) => (p.width * p.height) / 1e6),
    inputBytes: mean((p) => p.inputBytes),
    refusedShare: refusedWeight / (weight + refusedWeight)
  }
}

const photoTable = (mix: ResizeMix): string => {
  const methods = METHODS.filter((m) => mix.photos.some((p) => p.byMethod[m.id] !== undefined))
  const body = mix.photos.map((p) => [
    `\`${p.name}\``,
    `${p.width}×${p.height}`,
    fmtBytes(p.inputBytes),
    String(p.weight),
    fmt(p.probeMs, 1),
    ...methods.map((m) => {
      const r = p.byMethod[m.id]
      return r === undefined
        ? `– (${p.skipped[m.id] ?? "not run"})`
        : `${fmt(r.cpuMs, 0)} ms ×${r.repetitions} · ${fmtBytes(r.outputBytes)}`
    })
  ])
  return mdTable(
    ["photo", "displayed", "input", "mix weight", "probe ms", ...methods.map((m) => m.label)],
    body,
    ["l", "l", "r", "r", "r", ...methods.map(() => "r" as const)]
  )
}

const meansTable = (section: ResizeSection, mix: ResizeMix): string => {
  const agg = resizeAggregates(section, mix)
  const imgpipe = agg.imgpipe
  const perUploadColumn = mix.refused.length > 0
  const body = METHODS.filter((m) => agg[m.id] !== undefined).map((m) => {
    const a = agg[m.id] as MethodAggregate
    return [
      m.label,
      fmt(a.cpuMs, 0),
      fmt(1000 / a.cpuMs, 2),
      fmtBytes(a.outputBytes),
      imgpipe === undefined || m.id === "imgpipe" ? "" : `${fmt(a.cpuMs / imgpipe.cpuMs, 2)}×`,
      ...(perUploadColumn ? [fmt(perUpload(mix, m.id), 0)] : [])
    ]
  })
  const photos = Object.values(agg)[0]?.photos ?? 0
  return [
    mdTable(
      [
        "method",
        "CPU ms per image",
        "images/s per core",
        "output",
        "÷ imgpipe",
        ...(perUploadColumn ? ["CPU ms per upload"] : [])
      ],
      body,
      ["l", "r", "r", "r", "r", "r"]
    ),
    "",
    `Weighted by the mix over the ${photos} photos every compared method measured` +
    (perUploadColumn
      ? "; refused uploads are left out of the means (no method should resize them), and \"per upload\" counts them " +
        "at the CPU of the header read that refuses them."
      : ".")
  ].join("\n")
}

const refusalLines = (mix: ResizeMix): ReadonlyArray<string> =>
  mix.refused.map((r) => {
    const ok = r.code === r.expected
    return `- \`${r.name}\` declared \`${r.declared}\` (weight ${r.weight}): ${
      r.code === undefined ? "**ACCEPTED** by `Resizer.probe`" : `refused \`${r.code}\` by \`Resizer.probe\``
    } in ${fmt(r.probeMs, 1)} CPU ms — expected \`${r.expected}\`: ${ok ? "as expected" : "**NOT as expected**"}.`
  })

/** Proposals sized from the measured columns (no new measurement): what the mix would cost. */
const estimateLines = (mix: ResizeMix): ReadonlyArray<string> => {
  const usable = mix.photos.filter((p) =>
    p.byMethod.imgpipe !== undefined && p.byMethod.oneDecode !== undefined && p.byMethod.fromLarge !== undefined
  )
  if (usable.length === 0) return []
  const usableWeight = usable.reduce((s, p) => s + p.weight, 0)
  const weighted = (cost: (p: PhotoResult) => number) =>
    usable.reduce((s, p) => s + p.weight * cost(p), 0) / usableWeight
  const noHeifDecodes = (p: PhotoResult) =>
    /\.(avif|heic|heif)$/i.test(p.name) ? p.byMethod.fromLarge?.cpuMs ?? 0 : p.byMethod.imgpipe?.cpuMs ?? 0
  const oneDecodeMix = weighted((p) => p.byMethod.oneDecode?.cpuMs ?? 0)
  const estimates: Array<[string, number]> = [
    ["as measured", weighted((p) => p.byMethod.imgpipe?.cpuMs ?? 0)],
    [
      "(a) one header read per job instead of two (`resize` returns what `probe` found)",
      weighted((p) => (p.byMethod.imgpipe?.cpuMs ?? 0) - 3 * p.probeMs)
    ],
    ["(b) AVIF/HEIF: medium and small from the large rendition", weighted(noHeifDecodes)],
    ["(a) + (b)", weighted((p) => noHeifDecodes(p) - 3 * p.probeMs)],
    ["(c) one decode per image: the first job to claim an image writes all three sizes", oneDecodeMix]
  ]
  return [
    `Proposed changes to the per-size path, sized from the columns above (mix-weighted CPU ms per image; the target is ≤ ${ONE_DECODE_TARGET} × ${
      fmt(oneDecodeMix, 0)
    } = ${fmt(ONE_DECODE_TARGET * oneDecodeMix, 0)} ms):`,
    "",
    mdTable(
      ["change", "ms per image", "÷ one decode"],
      estimates.map(([label, ms]) => [label, fmt(ms, 0), `${fmt(ms / oneDecodeMix, 2)}×`]),
      ["l", "r", "r"]
    )
  ]
}

/** Where the per-size path loses against one decode: each photo's share of the weighted gap. */
const gapLines = (mix: ResizeMix): ReadonlyArray<string> => {
  const totalWeight = mix.photos.reduce((s, p) => s + p.weight, 0)
  const gaps = mix.photos
    .filter((p) => p.byMethod.imgpipe !== undefined && p.byMethod.oneDecode !== undefined)
    .map((p) => {
      const ours = p.byMethod.imgpipe?.cpuMs ?? 0
      const one = p.byMethod.oneDecode?.cpuMs ?? 0
      return { name: p.name, ratio: ours / one, weighted: (p.weight / totalWeight) * (ours - one) }
    })
  const gapTotal = gaps.reduce((s, g) => s + g.weighted, 0)
  return gaps
    .sort((a, b) => b.weighted - a.weighted)
    .map((g) =>
      `- \`${g.name}\`: ${fmt(g.ratio, 2)}× one decode; ${fmt(g.weighted, 0)} ms of the mix's ${
        fmt(gapTotal, 0)
      } ms gap (${fmt((g.weighted / gapTotal) * 100, 0)} %)`
    )
}

const MIX_TEXT: Readonly<Record<string, string>> = {
  photos: "a consumer app whose clients downscale before uploading: 1–3 MP JPEG and WebP dominate, with a tail of " +
    "camera originals, PNG, TIFF and one 12 MP AVIF",
  phone: "a mobile app uploading camera-roll files as they are: 12 MP camera JPEGs dominate, then screenshots (PNG; " +
    "the one here is SYNTHETIC, drawn from an SVG), a 16 MP and a 10 MP photo, HEIC files declared as JPEG (refused) " +
    "and panoramas (the one here is DERIVED from the 20 MP photo)"
}

const mixBlock = (section: ResizeSection, mix: ResizeMix): ReadonlyArray<string> => {
  const facts = mixFacts(mix)
  const refusals = refusalLines(mix)
  const estimates = estimateLines(mix)
  const gaps = gapLines(mix)
  return [
    `### The \`${mix.name}\` mix`,
    "",
    `It stands for ${MIX_TEXT[mix.name] ?? "a preset of `loadtest/lib/mixes.json`"}. Accepted photos: ${
      fmt(facts.megapixels, 1)
    } MP and ${fmtBytes(facts.inputBytes)} per upload on average${
      facts.refusedShare > 0 ? `; ${fmt(facts.refusedShare * 100, 0)} % of the uploads are refused` : ""
    }.`,
    "",
    photoTable(mix),
    "",
    "Mix-weighted means:",
    "",
    meansTable(section, mix),
    ...(refusals.length === 0 ? [] : ["", "Uploads the service must refuse:", "", ...refusals]),
    ...(estimates.length === 0 ? [] : ["", ...estimates]),
    ...(gaps.length === 0
      ? []
      : ["", "Where the per-size path costs more than one decode (mix-weighted, largest share first):", ...gaps]),
    ""
  ]
}

/** The section's body under its heading in docs/benchmarks.md. */
export const resizeMarkdown = (r: ResizeSection): string => {
  const mixes = mixesOf(r)
  return [
    `Sizes: small ${r.sizes.small.width}, medium ${r.sizes.medium.width}, large ${r.sizes.large.width} px boxes. ` +
    `Photos: the load test's ${
      mixes.map((m) => `\`${m.name}\``).join(" and ")
    } mixes (\`loadtest/lib/mixes.json\`), each reported on its own; a photo in both is measured once. ` +
    "CPU ms of one image's three outputs, median of the samples (× in the tables: imgpipe and one decode at least 3 on " +
    "a photo that weighs ≥ 10 % of a mix; otherwise what about 400 ms of CPU per method allows, at least 1), one " +
    "libvips thread, libvips cache off. " +
    "ImageMagick: one thread (`-limit thread 1`), CPU time of the `convert` process including its start-up.",
    "",
    r.imagemagickMissing === undefined
      ? `ImageMagick: ${r.imagemagick ?? "?"}.`
      : `**${r.imagemagickMissing}**, then run the bench again: its columns are empty.`,
    "",
    ...mixes.flatMap((mix) => mixBlock(r, mix)),
    "Methods:",
    ...METHODS.map((m) => `- **${m.label}**: ${m.description}.`)
  ].join("\n")
}

const tick = (met: boolean): string => (met ? "met" : "MISSED")

/** The summary's resize rows: one per method and mix. */
export const resizeSummaryRows = (r: ResizeSection): ReadonlyArray<Row> =>
  mixesOf(r).flatMap((mix) => {
    const agg = resizeAggregates(r, mix)
    const imgpipe = agg.imgpipe
    return METHODS.map((method): Row => {
      const a = agg[method.id]
      const section = `resize · ${mix.name}`
      if (a === undefined) {
        const magick = method.id === "imagemagick" || method.id === "imagemagickNaive"
        return {
          section,
          what: method.label,
          result: magick && r.imagemagickMissing !== undefined ? `not measured: \`${MAGICK_INSTALL}\`` : "not measured",
          versus: "",
          ratio: "",
          target: ""
        }
      }
      let versus = ""
      let ratio = ""
      let target = ""
      if (imgpipe !== undefined && method.id === "oneDecode") {
        const x = imgpipe.cpuMs / a.cpuMs
        versus = "imgpipe ÷ this"
        ratio = `${fmt(x, 2)}×`
        target = `≤ ${ONE_DECODE_TARGET}×: ${tick(x <= ONE_DECODE_TARGET)}`
      } else if (imgpipe !== undefined && method.id !== "imgpipe") {
        const x = a.cpuMs / imgpipe.cpuMs
        versus = "this ÷ imgpipe"
        ratio = `${fmt(x, 2)}×`
        if (method.id === "imagemagick") target = `≥ ${MAGICK_TARGET}×: ${tick(x >= MAGICK_TARGET)}`
      }
      return {
        section,
        what: method.label,
        result: `${fmt(a.cpuMs, 0)} ms/img/core · ${fmt(1000 / a.cpuMs, 2)} img/s · ${fmtBytes(a.outputBytes)} out`,
        versus,
        ratio,
        target
      }
    })
  })

/** The Targets section's resize lines: the per-size path and ImageMagick, on every mix. */
export const resizeTargetLines = (
  t: Targets,
  resize: ResizeSection | { readonly error: string } | undefined
): ReadonlyArray<string> => {
  const byMix = t.resizeByMix.length > 0 ? t.resizeByMix : [{ mix: "photos", oneDecode: t.oneDecode, magick: t.magick }]
  const missing = resize !== undefined && !isError(resize) ? resize.imagemagickMissing : undefined
  const oneDecode = byMix.map(({ mix, oneDecode: o }) =>
    o === undefined
      ? `\`${mix}\` not measured`
      : `\`${mix}\` ${fmt(o.ratio, 2)}× — ${
        o.met ? "met" : `missed by ${fmt((o.ratio / ONE_DECODE_TARGET - 1) * 100, 0)} %`
      }`
  )
  const magick = byMix.map(({ magick: m, mix }) =>
    m === undefined
      ? `\`${mix}\` not measured`
      : `\`${mix}\` ${fmt(m.ratio, 2)}× against ImageMagick's best single command, ${
        fmt(m.naiveRatio, 2)
      }× against one \`convert\` per size — ${m.met ? "met" : "missed"}`
  )
  return [
    `- **ProcessImage's per-size path ≤ ${ONE_DECODE_TARGET}× sharp's one-decode cost**: ${oneDecode.join("; ")}.`,
    missing !== undefined
      ? `- ≥ ${MAGICK_TARGET}× faster than ImageMagick: ${missing}.`
      : `- **≥ ${MAGICK_TARGET}× faster than ImageMagick**: ${magick.join("; ")}.`
  ]
}
