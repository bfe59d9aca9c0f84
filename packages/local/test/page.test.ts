/**
 * The upload page's script is a string inside a TypeScript template literal, so neither tsc nor a
 * linter sees it: an escape that the template literal eats (`\n` in a string, a regex's `\.`) or a
 * renamed element would only show in a browser. This checks what can be checked without one: the
 * script as the browser receives it compiles, and every element it looks up exists in the page.
 */
import { Script } from "node:vm"
import { describe, expect, it } from "vitest"
import { indexHtml } from "../src/page.js"

const script = /<script>([\s\S]*?)<\/script>/.exec(indexHtml)?.[1] ?? ""

describe("upload page", () => {
  it("its script compiles", () => {
    expect(script.length).toBeGreaterThan(1000)
    expect(() => new Script(script, { filename: "page.js" })).not.toThrow()
  })

  it("every element the script looks up by id is in the page", () => {
    const wanted = new Set([...script.matchAll(/\$\("([a-z]+)"\)/g)].map((m) => m[1]!))
    const present = new Set([...indexHtml.matchAll(/\sid="([a-z]+)"/g)].map((m) => m[1]!))
    expect(wanted.size).toBeGreaterThan(5)
    expect([...wanted].filter((id) => !present.has(id))).toEqual([])
  })

  it("reads the limits and backlog from /local/info and sends the PUT with upload progress", () => {
    expect(script).toContain("fetch(\"/local/info\"")
    expect(script).toContain("xhr.upload.onprogress")
  })
})
