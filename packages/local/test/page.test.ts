/**
 * The upload page's script is a string inside a TypeScript template literal, so neither tsc nor a
 * linter sees it: an escape that the template literal eats (`\n` in a string, a regex's `\.`) or a
 * renamed element would only show in a browser. This checks what can be checked without one: the
 * script as the browser receives it compiles, and every element it looks up exists in the page.
 */
import { fakePlaceholder } from "@imgpipe/core/testing"
import { Effect } from "effect"
import { createContext, Script } from "node:vm"
import { describe, expect, it } from "vitest"
import { buildClientScript, indexHtml } from "../src/page.js"

/** The browser bundle, built once for the tests that run it (a build takes seconds). */
let built: Promise<string> | undefined
const clientCode = () => (built ??= Effect.runPromise(buildClientScript))

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

  it("reads the limits and backlog from /local/info; uploads and waits through @imgpipe/client with byte progress", () => {
    expect(script).toContain("fetch(\"/local/info\"")
    expect(indexHtml).toContain("<script src=\"/client.js\"></script>")
    expect(script).toContain("imgpipe.createClient(")
    expect(script).toMatch(/client\.upload\(file, \{ onProgress:/)
    expect(script).toContain("client.waitUntilReady(")
  })

  it("/client.js is the client's browser build: no Node module left, and it runs as a plain script", async () => {
    const code = await clientCode()
    expect(code).not.toMatch(/\brequire\(|["']node:/)
    // What a browser has; no `process`, no `require`.
    const window = createContext({
      fetch,
      URL,
      AbortController,
      TextEncoder,
      TextDecoder,
      ReadableStream,
      Blob,
      console
    })
    new Script(code, { filename: "client.js" }).runInContext(window)
    expect(typeof (window as { imgpipe?: { thumbHashToDataURL?: unknown } }).imgpipe?.thumbHashToDataURL).toBe(
      "function"
    )
    const imgpipe = (window as {
      imgpipe?: { createClient: (o: { baseUrl: string }) => { getImageUrl: (id: string, s: string) => string } }
    })
      .imgpipe
    expect(imgpipe?.createClient({ baseUrl: "http://localhost:3000" }).getImageUrl("abc", "small")).toBe(
      "http://localhost:3000/get_image?image_id=abc&image_size=small"
    )
  })

  it("paints the status's placeholder (ThumbHash over the dominant colour) and nothing when there is none", async () => {
    // The page's own function, run on the real /client.js with a placeholder the resizer makes.
    const source = /var paint = [\s\S]*?\n}\n/.exec(script)?.[0] ?? ""
    expect(source).toContain("function placeholderPaint(")
    const window = createContext({
      fetch,
      URL,
      AbortController,
      TextEncoder,
      TextDecoder,
      ReadableStream,
      Blob,
      console,
      atob,
      btoa
    })
    new Script(await clientCode(), { filename: "client.js" }).runInContext(window)
    new Script(source, { filename: "placeholder.js" }).runInContext(window)
    const paint = (status: unknown): string => {
      ;(window as { status?: unknown }).status = status
      return new Script("placeholderPaint(status)").runInContext(window) as string
    }
    const { thumbhash } = fakePlaceholder(400, 300)
    const css = paint({ placeholder: { thumbhash, dominant_color: "#5a7d3c", width: 100, height: 75 } })
    expect(css).toMatch(/^#5a7d3c url\("data:image\/png;base64,[A-Za-z0-9+/=]+"\) center \/ 100% 100% no-repeat$/)
    // Absent, null, or unreadable: nothing, or only what can be read.
    expect(paint({})).toBe("")
    expect(paint({ placeholder: null })).toBe("")
    expect(paint(null)).toBe("")
    expect(paint({ placeholder: { thumbhash: "%%%", dominant_color: "#123456" } })).toBe("#123456")
    expect(paint({ placeholder: { thumbhash, dominant_color: "red; x" } })).toMatch(/^url\("data:image\/png/)
    // The page asks for it where it draws the sizes and logs it once.
    expect(script).toContain("placeholderPaint(status)")
    expect(script).toContain("box.style.background = background")
  })
})
