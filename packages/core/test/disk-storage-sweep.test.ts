/**
 * Defect 8 of issue 9 (storage part): temporary files left by a crash (an upload or rendition
 * killed before its commit, a start killed while writing the signing secret) were never removed.
 * The storage layer now sweeps them when it starts — only our names, only files older than the start.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { diskStorageLayer } from "../src/local/DiskStorage.js"
import { KEY, listFiles, realSleep } from "./support/disk.js"

describe("DiskStorage: start-up sweep of temporary files", () => {
  it.scoped("removes our stale *.tmp files under objects/ and the signing-secret temporary, and nothing else", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(NodePath.join(tmpdir(), "imgpipe-sweep-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const stale = [
        `objects/raw/${KEY}.0123456789abcdef.tmp`,
        `objects/raw/${KEY}.fedcba9876543210.tmp`,
        `objects/processed/${KEY}/small.00112233445566aa.tmp`,
        "signing-secret.a1b2c3d4e5f60718.tmp"
      ]
      const kept = [
        `objects/raw/${KEY}`,
        `objects/raw/${KEY}.meta.json`,
        `objects/processed/${KEY}/small`,
        "objects/raw/notes.tmp", // not a name we make
        `objects/raw/${KEY}.0123456789ABCDEF.tmp`, // not our (lower-case) hex
        "other.0123456789abcdef.tmp", // outside objects/ and not the secret's
        "signing-secret"
      ]
      // Written by a write that started after the layer did: never swept from under it.
      const fresh = `objects/raw/${KEY}.9999999999999999.tmp`
      const hourAgo = new Date(Date.now() - 3600_000)
      for (const file of [...stale, ...kept, fresh]) {
        const path = NodePath.join(dataDir, file)
        yield* Effect.promise(() => mkdir(NodePath.dirname(path), { recursive: true }))
        yield* Effect.promise(() => writeFile(path, file === "signing-secret" ? `${"ab".repeat(32)}\n` : "x"))
        if (file !== fresh) yield* Effect.promise(() => utimes(path, hourAgo, hourAgo))
      }
      const inAMinute = new Date(Date.now() + 60_000)
      yield* Effect.promise(() => utimes(NodePath.join(dataDir, fresh), inAMinute, inAMinute))

      yield* Layer.build(
        diskStorageLayer({ dataDir, publicUrl: "http://localhost:3000", signingSecret: Option.none() }).pipe(
          Layer.provide(NodeFileSystem.layer)
        )
      )
      const expected = [...kept, fresh].sort()
      let files = yield* Effect.promise(() => listFiles(dataDir))
      for (let i = 0; i < 100 && files.length > expected.length; i++) {
        yield* realSleep(50)
        files = yield* Effect.promise(() => listFiles(dataDir))
      }
      expect(files).toEqual(expected)
    }))
})
