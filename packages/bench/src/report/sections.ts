/**
 * The bench's sections, their headings in docs/benchmarks.md, and the splice that rewrites only
 * some of them (`bun run bench -- --only formats --splice`): the rest of the document, the summary
 * table included, stays as the last full run wrote it.
 */
export const SECTIONS = ["resize", "pipeline", "api", "lambda", "memory", "webhooks", "sse", "formats", "cost"] as const
export type Section = (typeof SECTIONS)[number]

export const HEADINGS: Readonly<Record<Section, string>> = {
  resize: "## 1. Resize cost per image",
  pipeline: "## 2. Embedded pipeline",
  api: "## 3. API on one core",
  lambda: "## 4. Lambda cold start",
  memory: "## 5. Decode memory",
  webhooks: "## Webhook delivery",
  sse: "## Open event streams",
  formats: "## Output format sets (IMGPIPE_FORMATS)",
  cost: "## Cost per million images"
}

/** The lines from `heading` up to the next `## ` heading (or the end): [start, end). */
const blockOf = (lines: ReadonlyArray<string>, heading: string): [number, number] | undefined => {
  const start = lines.indexOf(heading)
  if (start < 0) return undefined
  const next = lines.findIndex((line, i) => i > start && line.startsWith("## "))
  return [start, next < 0 ? lines.length : next]
}

/**
 * `existing` with the blocks under `headings` replaced by those in `generated`; a block the
 * existing document lacks is appended at its end. Headings `generated` lacks are left alone.
 * `note`, when given, goes under each replaced heading (when and where it was measured).
 */
export const spliceSections = (
  existing: string,
  generated: string,
  headings: ReadonlyArray<string>,
  note?: string
): string => {
  let lines = existing.split("\n")
  const fresh = generated.split("\n")
  for (const heading of headings) {
    const source = blockOf(fresh, heading)
    if (source === undefined) continue
    const found = fresh.slice(source[0], source[1])
    const block = note === undefined ? found : [heading, "", note, ...found.slice(1)]
    const target = blockOf(lines, heading)
    if (target === undefined) {
      const trailing = lines.length > 0 && lines[lines.length - 1] === "" ? [] : [""]
      lines = [...lines, ...trailing, ...block]
    } else {
      lines = [...lines.slice(0, target[0]), ...block, ...lines.slice(target[1])]
    }
  }
  return lines.join("\n")
}
