/**
 * Defect 8 of issue 9 (storage part): a full disk answered some PUTs with a connection reset. Now
 * every failure to store answers JSON and the client reads it: 507 `insufficient_storage` when the
 * disk is full, 503 `storage_unavailable` for any other file-system failure, with nothing left
 * behind. Tested on a real, tiny file system: a 2 MiB tmpfs mounted for the test (needs root;
 * skipped, saying so, where mounting is not allowed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmdirSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import {
  bytesOf,
  captureLogs,
  expectRefusal,
  harness,
  KEY,
  OTHER_KEY,
  presignUpload,
  put,
  realSleep
} from "./support/storage.js"

const MIB = 1024 * 1024

/** Mounts a tmpfs of `size` (e.g. "2m") for the scope; fails when the sandbox does not allow it. */
const tinyFileSystem = (size: string) =>
  Effect.acquireRelease(
    Effect.try(() => {
      const dir = mkdtempSync(NodePath.join(tmpdir(), "imgpipe-tmpfs-"))
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" })
      return dir
    }),
    (dir) =>
      Effect.sync(() => {
        execFileSync("umount", [dir], { stdio: "ignore" })
        rmdirSync(dir)
      })
  )

const canMount = (() => {
  try {
    const dir = mkdtempSync(NodePath.join(tmpdir(), "imgpipe-tmpfs-probe-"))
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "ignore" })
      execFileSync("umount", [dir], { stdio: "ignore" })
      return true
    } finally {
      rmdirSync(dir)
    }
  } catch {
    return false
  }
})()

/** The failure was logged, with its key, and no signed URL or signature reached the log. */
const expectLoggedWithoutSignatures = (lines: ReadonlyArray<string>, urls: ReadonlyArray<string>) => {
  expect(lines.some((line) => line.includes("local storage failed"))).toBe(true)
  for (const url of urls) {
    const sig = new URL(url).searchParams.get("sig") ?? ""
    expect(sig).toMatch(/^[0-9a-f]{64}$/)
    for (const line of lines) expect(line).not.toContain(sig)
  }
  for (const line of lines) expect(line).not.toMatch(/sig=/)
}

describe.skipIf(!canMount)(
  "DiskStorage on a full disk (a real 2 MiB tmpfs; skipped where mount is not permitted)",
  () => {
    const logs = captureLogs()
    const readOnlyLogs = captureLogs()
    it.scoped("an upload bigger than the free space answers 507 insufficient_storage as JSON, leaves nothing, and the space is usable again", () =>
      Effect.gen(function* () {
        const dataDir = yield* tinyFileSystem("2m")
        const h = yield* harness({ dataDir })
        const urls: Array<string> = []
        // Up to the upload limit (25 MiB). Each request reuses fetch's keep-alive connection: before the
        // fix the server destroyed it mid-body, and the next request failed with ECONNRESET.
        for (const size of [3 * MIB, 25 * MIB, 8 * MIB]) {
          const upload = yield* presignUpload(h, { length: size })
          urls.push(upload.url)
          // fetch reports a reset as a thrown "fetch failed": the answer must be readable JSON.
          const result = yield* put(upload.url, bytesOf(size), upload.headers)
          expectRefusal(result, 507, "insufficient_storage")
          for (let i = 0; i < 40 && (yield* h.rawFiles()).length > 0; i++) yield* realSleep(50)
          expect(yield* h.rawFiles()).toEqual([])
        }
        // The temporary file was removed: an upload that fits is stored.
        const small = yield* presignUpload(h, { key: OTHER_KEY, length: MIB })
        expect((yield* put(small.url, bytesOf(MIB), small.headers)).response.status).toBe(200)
        expect(h.calls.map((call) => call.key)).toEqual([OTHER_KEY])
        expectLoggedWithoutSignatures(logs.lines, urls)
      }).pipe(Effect.provide(logs.layer)))

    it.scoped("a file system that fails otherwise (read-only) answers 503 storage_unavailable as JSON", () =>
      Effect.gen(function* () {
        const dataDir = yield* tinyFileSystem("2m")
        const h = yield* harness({ dataDir })
        const upload = yield* presignUpload(h, { key: KEY, length: 100 * 1024 })
        execFileSync("mount", ["-o", "remount,ro", dataDir], { stdio: "ignore" })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => execFileSync("mount", ["-o", "remount,rw", dataDir], { stdio: "ignore" }))
        )
        expectRefusal(yield* put(upload.url, bytesOf(100 * 1024), upload.headers), 503, "storage_unavailable")
        expect(h.calls).toEqual([])
        expectLoggedWithoutSignatures(readOnlyLogs.lines, [upload.url])
      }).pipe(Effect.provide(readOnlyLogs.layer)))
  }
)
