/**
 * A restart loses nothing: stop the runner (gracefully, or by SIGKILL) while jobs are in flight,
 * start it again on the same data: every image ends `ready` with exactly one rendition per size.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { readdirSync } from "node:fs"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { contentTypeOf, fixture, getStatus, uploadBytes, waitUntilSettled } from "./support/client.js"
import { makeTestDatabase, removeDir, startRunner } from "./support/runner.js"

const IMAGES = [
  "photo-3024x4032-iphone-xs-p3.avif", // slow to decode: surely unfinished when the runner stops
  "photo-6028x3391-bird-20mp.jpg",
  "alpha-2048x1536-rgba.png",
  "grayscale-2560x1600.jpg",
  "exif-orientation-6.jpg",
  "photo-1280x1024-grass-progressive.jpg"
]

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const scenario = async (signal: NodeJS.Signals) => {
  const database = await makeTestDatabase()
  if (database) cleanups.push(database.drop)
  const dataDir = mkdtempSync(join(tmpdir(), "imgpipe-restart-"))
  cleanups.push(() => removeDir(dataDir))
  const base = { dataDir, ...(database ? { databaseUrl: database.url } : {}) }
  // A short visibility timeout so jobs held by a killed process come back quickly.
  const env = { IMGPIPE_VISIBILITY_TIMEOUT_SECONDS: "3" }

  const first = await startRunner({ ...base, env })
  const ids = await Promise.all(
    IMAGES.map(async (name) => (await uploadBytes(first.baseUrl, fixture(name), contentTypeOf(name))).image_id)
  )
  // Let the workers get going, then stop while work is still in flight.
  await new Promise((r) => setTimeout(r, 700))
  const before = await Promise.all(ids.map((id) => getStatus(first.baseUrl, id)))
  const exit = await first.stop(signal)
  if (signal === "SIGTERM") expect(exit, first.output()).toBe(0)
  const unfinished = before.filter((s) => s.status !== "ready")
  expect(unfinished.length).toBeGreaterThan(0)

  const second = await startRunner({ ...base, env })
  cleanups.push(async () => void (await second.stop("SIGTERM")))
  for (const id of ids) {
    const status = await waitUntilSettled(second.baseUrl, id, 120_000)
    expect(status.status, JSON.stringify(status.error)).toBe("ready")
    for (const size of ["small", "medium", "large"] as const) expect(status.renditions[size].status).toBe("ready")
    // One object per size in the processed store, and its WebP extra (IMGPIPE_FORMATS=webp) where it
    // was worth storing; nothing else (no temporaries, no second copy).
    const objects = readdirSync(join(dataDir, "objects", "processed", id)).filter((f) => !f.endsWith(".meta.json"))
    const baselines = objects.filter((f) => !f.endsWith(".webp")).sort()
    expect(baselines).toEqual(["large", "medium", "small"])
    for (const extra of objects.filter((f) => f.endsWith(".webp"))) {
      expect(["large.webp", "medium.webp", "small.webp"]).toContain(extra)
    }
  }
}

describe("restart durability", () => {
  it("SIGTERM with jobs in flight: the restarted runner finishes every image", () => scenario("SIGTERM"), 240_000)
  it("SIGKILL with jobs in flight: held jobs return after the visibility timeout", () => scenario("SIGKILL"), 240_000)
})
