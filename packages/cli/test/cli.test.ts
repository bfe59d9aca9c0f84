/**
 * The CLI against a live embedded runner (real HTTP): every command with `--json` (stdout parsed)
 * and for people, the exit codes (0 ok, 1 failure, 2 usage), the keys from flags and from the
 * environment. The commands run in this process (`run`, output captured; a child process costs
 * seconds per command here); the last test runs the `imgpipe` bin itself as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { fixturesDir } from "@imgpipe/local/test/support/client"
import { makeTestDatabase, removeDir, type Runner, startRunner } from "@imgpipe/local/test/support/runner"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { runCli } from "./support/capture.js"

const root = resolve(import.meta.dirname, "../../..")
const bin = join(root, "node_modules/.bin/imgpipe")
const ADMIN_KEY = "admin-key-for-the-cli-test"
const UNKNOWN_ID = "0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10"

let runner: Runner
let database: Awaited<ReturnType<typeof makeTestDatabase>>
const scratch = mkdtempSync(join(tmpdir(), "imgpipe-cli-"))

beforeAll(async () => {
  database = await makeTestDatabase()
  const env = { IMGPIPE_ADMIN_KEYS: ADMIN_KEY }
  runner = await startRunner(database ? { databaseUrl: database.url, env } : { env })
})

afterAll(async () => {
  const code = await runner?.stop("SIGTERM")
  expect(code).toBe(0)
  removeDir(runner.dataDir)
  rmSync(scratch, { recursive: true, force: true })
  await database?.drop()
})

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** `imgpipe …args` in-process, with the runner as IMGPIPE_API_URL (and `env` on top). */
const imgpipe = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Result> =>
  runCli(args.map((arg) => (arg.startsWith("./") ? join(scratch, arg) : arg)), {
    IMGPIPE_API_URL: runner.baseUrl,
    ...env
  })

/** The `imgpipe` bin as a child process (node_modules/.bin, as `bun install` links it). */
const spawned = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Result> =>
  new Promise((done) => {
    execFile(
      bin,
      [...args],
      {
        cwd: scratch,
        env: { ...process.env, IMGPIPE_API_URL: runner.baseUrl, IMGPIPE_API_KEY: "", IMGPIPE_ADMIN_KEY: "", ...env },
        timeout: 120_000
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        done({ code, stdout, stderr })
      }
    )
  })

const json = <A>(result: Result): A => {
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as A
}

const fixture = (name: string) => join(fixturesDir, name)
const admin = { IMGPIPE_ADMIN_KEY: ADMIN_KEY }

interface Status {
  readonly image_id: string
  readonly status: string
  readonly renditions: Record<string, { status: string; width: number | null; height: number | null }>
}

describe("imgpipe CLI", () => {
  let readyId = ""

  it("upload --wait --json: every file ready, with its sizes", async () => {
    const out = json<Array<{ file: string; image_id: string; status: Status }>>(
      await imgpipe([
        "upload",
        fixture("photo-1280x1024-grass-progressive.jpg"),
        fixture("rgb16-290x442.png"),
        "--wait",
        "--concurrency",
        "2",
        "--json"
      ])
    )
    expect(out).toHaveLength(2)
    expect(out.map((r) => r.status.status)).toEqual(["ready", "ready"])
    expect(out[0]!.status.renditions["medium"]).toMatchObject({ status: "ready", width: 1024, height: 819 })
    readyId = out[0]!.image_id
  })

  it("upload for people: the id and the served sizes on stdout, no progress bars when stderr is not a terminal", async () => {
    const result = await imgpipe(["upload", fixture("photo-1024x772.webp"), "--wait"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^[0-9a-f-]{36} {2}.*photo-1024x772\.webp {2}ready: small 320×241 .*medium 1024×772/)
    expect(result.stderr).toBe("")
  })

  it("upload --wait of a file that is not an image: exit 1, the reason on stderr", async () => {
    const result = await imgpipe(["upload", fixture("not-an-image-text.jpg"), "--wait"])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/not-an-image-text\.jpg: not_an_image: /)
  })

  it("status: --json is the API's status JSON; an unknown id exits 1", async () => {
    const status = json<Status>(await imgpipe(["status", readyId, "--json"]))
    expect(status).toMatchObject({ image_id: readyId, status: "ready" })
    const human = await imgpipe(["status", readyId])
    expect(human.stdout).toMatch(new RegExp(`^${readyId} {2}ready`))
    expect(human.stdout).toMatch(/large +ready +1280×1024/) // never enlarged
    const unknown = await imgpipe(["status", UNKNOWN_ID])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/not_found \(404\)/)
  })

  it("get --size small -o FILE writes the served bytes", async () => {
    const file = join(scratch, "small.jpg")
    const result = await imgpipe(["get", readyId, "--size", "small", "-o", "./small.jpg"])
    expect(result.code, result.stderr).toBe(0)
    const bytes = readFileSync(file)
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
    expect(result.stdout).toContain(`small, 320×256 jpeg (image/jpeg), ${bytes.byteLength} bytes`)
    expect((await imgpipe(["get", UNKNOWN_ID, "-o", "./missing.jpg"])).code).toBe(1)

    // --format: the WebP extra (made by default); AVIF was not made, so it falls back to WebP.
    for (const format of ["webp", "avif"]) {
      const webp = await imgpipe(["get", readyId, "--size", "small", "--format", format, "-o", `./small-${format}`])
      expect(webp.code, webp.stderr).toBe(0)
      const webpBytes = readFileSync(join(scratch, `small-${format}`))
      expect(new TextDecoder().decode(webpBytes.subarray(8, 12))).toBe("WEBP")
      expect(webp.stdout).toContain(`small, 320×256 webp (image/webp), ${webpBytes.byteLength} bytes`)
    }
    const described = json<{ format: string; placeholder: { dominant_color: string } | null }>(
      await imgpipe(["get", readyId, "--size", "small", "--format", "webp", "-o", "./small.webp", "--json"])
    )
    expect(described.format).toBe("webp")
    expect(described.placeholder?.dominant_color).toMatch(/^#[0-9a-f]{6}$/)
    expect((await imgpipe(["get", readyId, "--format", "png", "-o", "x.png"])).code).toBe(2)
  })

  it("images --status ready (admin key from the environment), --older-than parses ages", async () => {
    const page = json<{ images: Array<Status> }>(await imgpipe(["images", "--status", "ready", "--json"], admin))
    expect(page.images.map((i) => i.image_id)).toContain(readyId)
    expect(page.images.every((i) => i.status === "ready")).toBe(true)
    const old = json<{ images: Array<Status> }>(
      await imgpipe(["images", "--status", "ready", "--older-than", "1h", "--json"], admin)
    )
    expect(old.images).toEqual([])
    const failed = await imgpipe(["images", "--status", "failed"], admin)
    expect(failed.stdout).toMatch(/not_an_image/)
  })

  it("reprocess --size small queues the size again; the image is ready again after", async () => {
    const status = json<Status>(
      await imgpipe(["reprocess", readyId, "--size", "small", "--admin-key", ADMIN_KEY, "--json"])
    )
    expect(status.image_id).toBe(readyId)
    expect(status.status).toBe("processing")
    const result = await imgpipe(["upload", fixture("photo-246x345.tiff"), "--wait", "--json"])
    expect(result.code).toBe(0)
    const deadline = Date.now() + 60_000
    while (json<Status>(await imgpipe(["status", readyId, "--json"])).status !== "ready") {
      expect(Date.now()).toBeLessThan(deadline)
    }
  })

  it("queues: a table for people, the statistics with --json", async () => {
    const human = await imgpipe(["queues"], admin)
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^queue +depth +in flight +oldest\n/)
    expect(human.stdout).toMatch(/\ndead_letter +\d+ +\d+ /)
    const { queues } = json<{ queues: Array<{ name: string; depth: number }> }>(
      await imgpipe(["queues", "--json"], admin)
    )
    expect(queues.map((q) => q.name)).toEqual(expect.arrayContaining(["small", "medium", "large"]))
  })

  it("dlq redrive answers what it moved", async () => {
    const { redrives } = json<{ redrives: Array<{ queue: string }> }>(
      await imgpipe(["dlq", "redrive", "--json"], admin)
    )
    expect(Array.isArray(redrives)).toBe(true)
    const human = await imgpipe(["dlq", "redrive"], admin)
    expect(human.code, human.stderr).toBe(0)
  })

  it("exit codes: 2 for a bad flag or value, 1 for an API refusal (no admin key)", async () => {
    expect((await imgpipe(["status", readyId, "--bogus"])).code).toBe(2)
    expect((await imgpipe(["get", readyId, "--size", "huge", "-o", "x.jpg"])).code).toBe(2)
    expect((await imgpipe(["images", "--older-than", "soon"], admin)).code).toBe(2)
    expect((await imgpipe(["queues", "--api", "not a url"])).code).toBe(2)
    const denied = await imgpipe(["queues"])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toMatch(/unauthorized \(401\)/)
  })

  it("the imgpipe bin: results on stdout, the exit code of the command (0, 1, 2)", async () => {
    const ok = await spawned(["status", readyId, "--json"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ image_id: readyId, status: "ready" })
    const unknown = await spawned(["status", UNKNOWN_ID])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/not_found/)
    expect((await spawned(["status"])).code).toBe(2)
  })
})
