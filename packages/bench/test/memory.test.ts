/** The memory section's classes: the worst row of each and the Lambda memory it implies. */
import { describe, expect, it } from "vitest"
import { type MemoryRow, type MemorySection, memorySummary, messageClasses } from "../src/memory.js"

const row = (messageClass: string, name: string, box: number, peakMib: number): MemoryRow => ({
  messageClass,
  name,
  megapixels: 12,
  fileBytes: 1,
  box,
  peakMib,
  estimateMib: peakMib + 10,
  ms: 1
})

const section: MemorySection = {
  rows: [
    row("12 MP JPEG", "12 MP JPEG", 320, 47),
    row("12 MP JPEG", "12 MP JPEG", 2048, 72),
    row("AVIF", "12 MP AVIF", 2048, 204),
    row("AVIF", "49 MP AVIF, 10 bits", 2048, 1155)
  ],
  lambdaMemoryMb: 1769,
  budgetMib: 1513,
  concurrency: 2,
  worst: {
    name: "49 MP AVIF, 10 bits into 2048",
    estimateMib: 1343,
    peakMib: 1158,
    totalRssMib: 1300,
    ms: 1,
    unbudgetedPeakMib: 2108
  },
  refused: [],
  baselineMib: 256
}

describe("memory per message class", () => {
  it("each class's worst row, and baseline + concurrency × its peak", () => {
    const classes = messageClasses(section)
    expect(classes.map((c) => [c.messageClass, c.worst.box, c.worst.peakMib, c.impliedMb])).toEqual([
      ["12 MP JPEG", 2048, 72, 256 + 2 * 72],
      ["AVIF", 2048, 1155, 256 + 2 * 1155]
    ])
    expect(memorySummary(section)[1]?.result).toContain("2566 MB Lambda")
  })

  it("older rows without a class are their own class", () => {
    const { messageClass: _, ...old } = row("x", "20 MP JPEG", 2048, 40)
    expect(messageClasses({ ...section, rows: [old] }).map((c) => c.messageClass)).toEqual(["20 MP JPEG"])
  })
})
