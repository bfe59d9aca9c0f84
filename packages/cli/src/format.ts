/**
 * What the CLI prints for people (the `--json` output is the API's own JSON instead): sizes in
 * binary units, ages, plain aligned tables, a status in a few lines.
 */
import type { ImageStatus } from "@imgpipe/client"

export const bytes = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return "-"
  const trim = (text: string) => text.replace(/\.0+$/, "")
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${trim((n / 1024).toFixed(1))} KiB`
  return `${trim((n / 1024 / 1024).toFixed(1))} MiB`
}

export const age = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined) return "-"
  if (seconds < 120) return `${Math.round(seconds)}s`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`
  return `${Math.round(seconds / 86400)}d`
}

const iso = (date: Date | string): string => (typeof date === "string" ? date : date.toISOString())

/** Columns padded to their widest cell; the header row first. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const SIZES = ["small", "medium", "large"] as const

/** `small 320×256 image/jpeg 12.3 KiB, medium …`: the sizes that are ready. */
export const servedSizes = (status: ImageStatus): string =>
  SIZES.flatMap((size) => {
    const r = status.renditions[size]
    return r.status === "ready" ? [`${size} ${r.width}×${r.height} ${r.content_type ?? ""} ${bytes(r.bytes)}`] : []
  }).join(", ") || "no size ready"

export const statusReport = (status: ImageStatus): string => {
  const original = status.original
  const lines = [
    `${status.image_id}  ${status.status}` +
    (original === null
      ? "  (nothing uploaded yet)"
      : `  (original ${original.content_type}${
        original.width === null ? "" : ` ${original.width}×${original.height}`
      }, ${bytes(original.bytes)})`),
    table(
      ["size", "status", "dimensions", "type", "bytes"],
      SIZES.map((size) => {
        const r = status.renditions[size]
        return [
          size,
          r.status,
          r.width === null ? "-" : `${r.width}×${r.height}`,
          r.content_type ?? "-",
          bytes(r.bytes)
        ]
      })
    ).split("\n").map((line) => `  ${line}`).join("\n"),
    ...(status.error === undefined ? [] : [`  error: ${status.error.code}: ${status.error.message}`]),
    `  created ${iso(status.created_at)}, updated ${iso(status.updated_at)}`
  ]
  return lines.join("\n")
}

/** `90`, `90s`, `15m`, `1h`, `2d` → seconds; undefined when it is none of those. */
export const parseAge = (text: string): number | undefined => {
  const match = /^\s*(\d+)\s*(s|sec|m|min|h|d)?\s*$/i.exec(text)
  if (match === null) return undefined
  const unit = (match[2] ?? "s").toLowerCase()
  const factor = unit.startsWith("m") ? 60 : unit === "h" ? 3600 : unit === "d" ? 86400 : 1
  return Number(match[1]) * factor
}
