/** docs/benchmarks-cost.svg: one stacked bar per configuration, the cost parts per million images (x86_64). */
import { dollars, PARTS } from "../cost/report.js"
import type { CostSection } from "../cost/section.js"

const esc = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const COLOURS: ReadonlyArray<string> = ["#1f6feb", "#8957e5", "#bf8700", "#57606a", "#2da44e", "#cf222e", "#bc4c00"]

export const costChart = (s: CostSection, footer: string): string => {
  const width = 1000
  const labelWidth = 330
  const barArea = width - labelWidth - 110
  const max = Math.max(1, ...s.rows.map((r) => (Number.isFinite(r.cost.totalX86) ? r.cost.totalX86 : 0)))
  const parts: Array<string> = [
    `<text x="0" y="16" font-size="15" font-weight="bold">${
      esc(
        `Cost per million uploaded images, by part (x86_64, ${s.assumptions.viewsPerImage} views per image; lower is better)`
      )
    }</text>`
  ]
  // Legend: one swatch per part, wrapped to a second line when the first is full.
  let lx = 0
  let ly = 28
  PARTS.forEach((part, i) => {
    const room = 24 + part.label.length * 6.8
    if (lx > 0 && lx + room > width) {
      lx = 0
      ly += 18
    }
    parts.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`)
    parts.push(`<text x="${lx + 16}" y="${ly + 10}" font-size="11">${esc(part.label)}</text>`)
    lx += room
  })
  const top = ly + 28
  s.rows.forEach((row, i) => {
    const y = top + i * 28
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${esc(row.config.label)}</text>`
    )
    let x = labelWidth
    PARTS.forEach((part, j) => {
      const value = row.cost.parts[part.key]
      const w = Number.isFinite(value) ? (value / max) * barArea : 0
      if (w <= 0) return
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="20" fill="${
          COLOURS[j % COLOURS.length]
        }">` +
          `<title>${esc(`${part.label}: ${dollars(value)}`)}</title></rect>`
      )
      x += w
    })
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 14}" font-size="12">${esc(dollars(row.cost.totalX86))}</text>`)
  })
  const height = top + s.rows.length * 28 + 30
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
${parts.join("\n")}
<text x="0" y="${height - 8}" font-size="11" fill="#57606a">${esc(footer)}</text>
</svg>
`
}
