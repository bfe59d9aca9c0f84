/** The format-sets section in the summary table and in docs/benchmarks.md. */
import type { ImageSize, OutputFormat } from "@imgpipe/core"
import { fmt, fmtBytes, mdTable } from "../util.js"
import { bytesIn, CLIENTS, type FormatSetRun, type FormatsSection, isRun, runAggregate } from "./model.js"

/** "−23 %" / "+4 %" of `value` against `base`; nothing when they are equal (the baseline's own row). */
const change = (value: number, base: number): string => {
  const pct = (value / base - 1) * 100
  return !Number.isFinite(pct) ? "–" : `${pct < 0 ? "−" : "+"}${fmt(Math.abs(pct), 0)} %`
}

/** "88 % more" / "12 % fewer". */
const more = (value: number, base: number): string => {
  const pct = (value / base - 1) * 100
  return `${fmt(Math.abs(pct), 0)} % ${pct >= 0 ? "more" : "fewer"}`
}

const withChange = (value: number, base: number): string =>
  value === base ? fmtBytes(value) : `${fmtBytes(value)} (${change(value, base)})`

const label = (set: string): string => `\`${set}\``

const runs = (s: FormatsSection): ReadonlyArray<FormatSetRun> => s.runs.filter(isRun)

/** The run with the most extras: every format of every photo is in it. */
const richest = (s: FormatsSection): FormatSetRun | undefined =>
  runs(s).reduce<FormatSetRun | undefined>(
    (a, b) => (a === undefined || b.formats.length > a.formats.length ? b : a),
    undefined
  )

const baselineRun = (s: FormatsSection): FormatSetRun | undefined => runs(s).find((r) => r.formats.length === 0)

export const formatsSummary = (
  s: FormatsSection
): ReadonlyArray<{ readonly what: string; readonly result: string }> => {
  const base = baselineRun(s)
  const baseCpu = base === undefined ? Number.NaN : runAggregate(base).cpuMs
  return s.runs.map((run) => {
    if (!isRun(run)) return { what: `IMGPIPE_FORMATS=${run.set}`, result: `failed: ${run.error.slice(0, 70)}` }
    const a = runAggregate(run)
    return {
      what: `IMGPIPE_FORMATS=${run.set}`,
      result: `${fmt(a.cpuMs / 1000, 2)} CPU-s/image (${fmt(a.cpuMs / baseCpu, 2)}×) · stores ${
        fmtBytes(a.stored)
      } · Chrome gets ${fmtBytes(a.download.chrome)} · peak RSS ${fmt(run.peakRssMib, 0)} MiB`
    }
  })
}

const setsTable = (s: FormatsSection): string => {
  const base = baselineRun(s)
  const b = base === undefined ? undefined : runAggregate(base)
  return mdTable(
    [
      "IMGPIPE_FORMATS",
      "CPU s per image",
      "× none",
      "stored per image",
      ...CLIENTS.map((c) => `${c.label} downloads`),
      "peak RSS"
    ],
    s.runs.map((run) => {
      if (!isRun(run)) return [label(run.set), `failed: ${run.error}`, "", "", ...CLIENTS.map(() => ""), ""]
      const a = runAggregate(run)
      return [
        label(run.set),
        fmt(a.cpuMs / 1000, 2),
        b === undefined ? "–" : `${fmt(a.cpuMs / b.cpuMs, 2)}×`,
        b === undefined ? fmtBytes(a.stored) : withChange(a.stored, b.stored),
        ...CLIENTS.map((c) =>
          b === undefined ? fmtBytes(a.download[c.id]) : withChange(a.download[c.id], b.download[c.id])
        ),
        `${fmt(run.peakRssMib, 0)} MiB (${fmt(run.baselineRssMib, 0)})`
      ]
    }),
    ["l", "r", "r", "r", ...CLIENTS.map(() => "r" as const), "r"]
  )
}

const SIZES: ReadonlyArray<ImageSize> = ["small", "medium", "large"]

const perSizeTable = (run: FormatSetRun): string => {
  const formats: ReadonlyArray<OutputFormat> = ["webp", "avif"]
  return mdTable(
    ["size", "baseline (JPEG; WebP with alpha)", "WebP", "AVIF"],
    SIZES.map((size) => {
      const a = runAggregate(run, size)
      return [size, fmtBytes(a.baseline), ...formats.map((f) => withChange(a.format(f), a.baseline))]
    }),
    ["l", "r", "r", "r"]
  )
}

const perPhotoTable = (s: FormatsSection, rich: FormatSetRun): string => {
  const all = runs(s)
  const total = (name: string, pick: (sizes: FormatSetRun["photos"][number]["sizes"]) => number | undefined) => {
    const photo = rich.photos.find((p) => p.name === name)
    const v = photo === undefined ? undefined : pick(photo.sizes)
    return v === undefined ? "–" : fmtBytes(v)
  }
  const sum = (format: OutputFormat) => (sizes: FormatSetRun["photos"][number]["sizes"]) =>
    sizes.reduce<number | undefined>((acc, size) => {
      const v = bytesIn(size, format)
      return acc === undefined || v === undefined ? undefined : acc + v
    }, 0)
  return mdTable(
    [
      "photo",
      "mix weight",
      ...all.map((r) => `CPU ms ${label(r.set)}`),
      "baseline",
      "WebP",
      "AVIF"
    ],
    rich.photos.map((p) => [
      `\`${p.name}\``,
      String(p.weight),
      ...all.map((r) => fmt(r.photos.find((q) => q.name === p.name)?.cpuMs ?? Number.NaN, 0)),
      total(p.name, (sizes) => sizes.reduce((acc, size) => acc + size.baseline.bytes, 0)),
      total(p.name, sum("webp")),
      total(p.name, sum("avif"))
    ]),
    ["l", "r", ...all.map(() => "r" as const), "r", "r", "r"]
  )
}

const encodersTable = (e: NonNullable<FormatsSection["encoders"]>, box: number): string => {
  if ("error" in e) return `Encoder settings: failed: ${e.error}`
  return [
    `Encoder settings at the large size (${box} px box, mix-weighted over the ${e.photos} heaviest photos of the mix, ` +
    "which carry at least 75 % of its weight; CPU of the encode alone,",
    "one libvips thread, median of up to 3 within about 600 ms; luma PSNR against the resized pixels each encoded: compare settings",
    "within a format, not across codecs, whose artefacts PSNR weighs differently from the eye; **bold**: what",
    "encoders.ts uses):",
    "",
    mdTable(
      ["setting", "CPU ms", "bytes", "luma PSNR dB"],
      e.candidates.map((c) => [
        c.chosen ? `**${c.label}**` : c.label,
        fmt(c.cpuMs, 0),
        fmtBytes(c.bytes),
        fmt(c.psnr, 1)
      ]),
      ["l", "r", "r", "r"]
    )
  ].join("\n")
}

/** One paragraph from the numbers: what each step up costs and what it saves. */
const reading = (s: FormatsSection): string => {
  const base = baselineRun(s)
  if (base === undefined) return ""
  const b = runAggregate(base)
  const sentences = runs(s).filter((r) => r.formats.length > 0).map((run) => {
    const a = runAggregate(run)
    return `\`${run.set}\` costs ${fmt(a.cpuMs / b.cpuMs, 2)}× the baseline's CPU (${
      fmt((a.cpuMs - b.cpuMs) / 1000, 2)
    } CPU-s more per image) and stores ${more(a.stored, b.stored)} bytes; a Chrome or Safari ≥ 16 client then ` +
      `downloads ${more(a.download.chrome, b.download.chrome)} bytes than the baseline`
  })
  return [
    `Reading: ${sentences.join("; ")}. An old browser gets the baseline in every set (same bytes).`,
    "Encoding is paid once per image and the bytes on every view (about 20 per image), so the download",
    "columns weigh more than the CPU column as long as the workers keep up."
  ].join(" ")
}

export const formatsMarkdown = (s: FormatsSection): string => {
  const rich = richest(s)
  const failed = s.runs.filter((r) => !isRun(r)).map((r) => r.set)
  const skipped = [...new Set(runs(s).flatMap((r) => r.skipped.map((k) => `\`${k.name}\` (${k.reason})`)))]
  return [
    "Each `IMGPIPE_FORMATS` value in a fresh Node process with ProcessImage's allocator and libvips settings",
    "(one libvips thread, cache off): the real Resizer, every photo of the mix through its three jobs as the",
    "queues run them (`probe`, then `resize` with the set's extras; the placeholder in the small job). CPU: the",
    "process's user + system time for the three jobs, median of up to 3 repetitions. Bytes: one of each size",
    `(small ${s.sizes.small.width}, medium ${s.sizes.medium.width}, large ${s.sizes.large.width} px boxes); all means are weighted by the mix.`,
    "What a client downloads: `get_image`'s own choice (`chooseFormat`, core/src/domain/delivery.ts) on the",
    "`Accept` header the browser sends for an image; Chrome and Safari ≥ 16 both name AVIF and WebP, an old",
    "browser neither. Peak RSS: the process's high-water mark over the whole mix (in brackets: its resident",
    "memory after a warm-up image).",
    ...(s.quick ? ["", "**A `--quick` run**: the `small` mix, one repetition — a try-out, not a result."] : []),
    "",
    setsTable(s),
    ...(failed.length === 0 ? [] : ["", `Failed: ${failed.join(", ")}.`]),
    ...(skipped.length === 0 ? [] : ["", `Skipped: ${skipped.join(", ")}.`]),
    "",
    reading(s),
    ...(rich === undefined || rich.formats.length === 0 ? [] : [
      "",
      `Bytes per size and format (\`${rich.set}\`, mix-weighted: what \`get_image?format=…\` serves, the baseline where an extra was not worth storing; change against the baseline):`,
      "",
      perSizeTable(rich),
      "",
      "Per photo (CPU ms of the three jobs per set; bytes of the three sizes per format):",
      "",
      perPhotoTable(s, rich)
    ]),
    ...(s.encoders === undefined ? [] : ["", encodersTable(s.encoders, s.sizes.large.width)])
  ].join("\n")
}
