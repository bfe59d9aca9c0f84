/**
 * The embedded object storage as the rest of the code sees it (`ObjectStorage`, `DiskStorage`), on a
 * temporary data folder. Its HTTP routes are tested in packages/local/test/storage-routes*.test.ts.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Context, Effect, Exit, Layer, Option, Scope, Stream } from "effect"
import { readFile, stat } from "node:fs/promises"
import * as NodePath from "node:path"
import { RENDITION_CACHE_CONTROL } from "../src/domain/formats.js"
import { DiskStorage, DiskStorageLive } from "../src/local/DiskStorage.js"
import { FileChanged } from "../src/local/file-stream.js"
import { ObjectStorage } from "../src/services/ObjectStorage.js"
import { bytesOf, JPEG, KEY, listFiles, md5, OTHER_KEY, presignUpload, storageHarness } from "./support/disk.js"

describe("DiskStorage: the ObjectStorage service", () => {
  it.scoped("get refuses an object bigger than maxBytes; missing objects are ObjectNotFound", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      yield* h.storage.put({ bucket: "raw", key: KEY, body: bytesOf(100), contentType: JPEG, cacheControl: "no-cache" })
      const tooLarge = yield* Effect.flip(h.storage.get({ bucket: "raw", key: KEY, maxBytes: 99 }))
      expect(tooLarge._tag).toBe("ObjectTooLarge")
      expect(yield* h.storage.get({ bucket: "raw", key: KEY, maxBytes: 100 })).toEqual(bytesOf(100))
      const missing = yield* Effect.flip(h.storage.get({ bucket: "raw", key: OTHER_KEY, maxBytes: 100 }))
      expect(missing).toMatchObject({ _tag: "ObjectNotFound", bucket: "raw", key: OTHER_KEY })
      const missingRendition = yield* Effect.flip(
        h.storage.get({ bucket: "processed", key: `${KEY}/small`, maxBytes: 100 })
      )
      expect(missingRendition._tag).toBe("ObjectNotFound")
      expect(Option.isNone(yield* h.storage.head("raw", OTHER_KEY))).toBe(true)
    }))

  it.scoped("delete removes an object and its sidecar; deleting a missing object succeeds", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      yield* h.storage.put({ bucket: "raw", key: KEY, body: bytesOf(3), contentType: JPEG, cacheControl: "no-cache" })
      yield* h.storage.delete("raw", KEY)
      expect(yield* h.rawFiles()).toEqual([])
      yield* h.storage.delete("raw", KEY)
      yield* h.storage.delete("processed", `${KEY}/small`)
    }))

  it.scoped("copy: a new file with the source's bytes, Content-Type, Cache-Control and ETag; no temporaries left", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      const from = `${KEY}/small.webp`
      const to = `${OTHER_KEY}/small.webp`
      yield* h.storage.put({
        bucket: "processed",
        key: from,
        body: bytesOf(300),
        contentType: "image/webp",
        cacheControl: RENDITION_CACHE_CONTROL
      })
      // Replaces what is there.
      yield* h.storage.put({ bucket: "processed", key: to, body: bytesOf(5), contentType: JPEG, cacheControl: "x" })
      yield* h.storage.copy({ bucket: "processed", fromKey: from, toKey: to })
      expect(yield* h.storage.get({ bucket: "processed", key: to, maxBytes: 1000 })).toEqual(bytesOf(300))
      const disk = yield* DiskStorage.pipe(Effect.provide(h.context))
      const source = Option.getOrThrow(yield* disk.open("processed", from))
      const copy = Option.getOrThrow(yield* disk.open("processed", to))
      expect(copy.meta).toEqual(source.meta)
      expect(Option.map(copy.meta, (m) => [m.contentType, m.cacheControl, m.etag])).toEqual(
        Option.some(["image/webp", RENDITION_CACHE_CONTROL, md5(bytesOf(300))])
      )
      // A separate file: removing the source leaves the copy.
      yield* h.storage.delete("processed", from)
      expect(yield* h.storage.get({ bucket: "processed", key: to, maxBytes: 1000 })).toEqual(bytesOf(300))
      const missing = yield* Effect.flip(h.storage.copy({ bucket: "processed", fromKey: from, toKey: `${KEY}/large` }))
      expect(missing).toMatchObject({ _tag: "ObjectNotFound", bucket: "processed", key: from })
      const files = yield* Effect.promise(() => listFiles(h.dataDir))
      expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([])
      expect(files.filter((f) => f.includes("/processed/"))).toEqual([
        `objects/processed/${OTHER_KEY}/small.webp`,
        `objects/processed/${OTHER_KEY}/small.webp.meta.json`
      ])
    }))

  it.scoped("keys that could leave the bucket folder are refused everywhere", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      const badKeys = [
        "..",
        "../x",
        `${KEY}/../../signing-secret`,
        "/etc/passwd",
        "a/b/c",
        `${KEY}.meta.json`,
        "",
        "a\\b",
        "./a"
      ]
      for (const key of badKeys) {
        const results: ReadonlyArray<Exit.Exit<unknown, unknown>> = [
          yield* Effect.exit(
            h.storage.put({ bucket: "raw", key, body: bytesOf(1), contentType: JPEG, cacheControl: "x" })
          ),
          yield* Effect.exit(h.storage.get({ bucket: "raw", key, maxBytes: 10 })),
          yield* Effect.exit(h.storage.head("processed", key)),
          yield* Effect.exit(h.storage.delete("raw", key)),
          yield* Effect.exit(presignUpload(h, { key })),
          yield* Effect.exit(h.storage.presignDownload({ bucket: "raw", key, expiresInSeconds: 60 }))
        ]
        for (const exit of results) {
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            expect(exit.cause).toMatchObject({ _tag: "Fail", error: { _tag: "StorageError" } })
          }
        }
      }
      // Over HTTP, an encoded traversal is not a URL we signed: packages/local/test/storage-routes.test.ts.
      expect(yield* Effect.promise(() => listFiles(h.dataDir))).toEqual(["signing-secret"])
    }))

  it.scoped("presigning validates its input", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      for (
        const input of [{ ttl: 0 }, { ttl: 8 * 24 * 3600 }, { ttl: 1.5 }, { length: -1 }, {
          contentType: "image/jpeg\nx: y"
        }]
      ) {
        const error = yield* Effect.flip(presignUpload(h, input))
        expect(error._tag).toBe("StorageError")
      }
    }))
})

describe("DiskStorage: configuration and the signing secret", () => {
  const build = (env: Record<string, string>) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(DiskStorageLive.pipe(Layer.provide(NodeFileSystem.layer)), scope)
        .pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      yield* Scope.close(scope, Exit.void)
      return { storage: Context.get(context, ObjectStorage), disk: Context.get(context, DiskStorage) }
    })

  const tempDir = Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.makeTempDirectoryScoped({ prefix: "imgpipe-secret-" })
  }).pipe(Effect.provide(NodeFileSystem.layer))

  it.scoped("without IMGPIPE_SIGNING_SECRET a key is generated once (0600) and survives a restart", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const env = { IMGPIPE_DATA_DIR: dir, IMGPIPE_PUBLIC_URL: "https://img.example.com/" }
      const first = yield* build(env)
      const secretFile = NodePath.join(dir, "signing-secret")
      const info = yield* Effect.promise(() => stat(secretFile))
      expect(info.mode & 0o777).toBe(0o600)
      const secret = (yield* Effect.promise(() => readFile(secretFile, "utf8"))).trim()
      expect(secret).toMatch(/^[0-9a-f]{64}$/)
      expect(first.disk.dataDir).toBe(dir)

      const url1 = (yield* presignUpload({ storage: first.storage })).url
      expect(url1.startsWith(`https://img.example.com/storage/raw/${KEY}?`)).toBe(true)
      const second = yield* build(env)
      expect((yield* presignUpload({ storage: second.storage })).url).toBe(url1)
      expect((yield* Effect.promise(() => readFile(secretFile, "utf8"))).trim()).toBe(secret)

      const configured = yield* build({ ...env, IMGPIPE_SIGNING_SECRET: "a-configured-secret-of-some-length" })
      expect((yield* presignUpload({ storage: configured.storage })).url).not.toBe(url1)
    }))

  it.scoped("signed links default to http://localhost:$PORT, so PORT alone keeps uploads working", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const urlWith = (env: Record<string, string>) =>
        build({ IMGPIPE_DATA_DIR: dir, ...env }).pipe(
          Effect.flatMap(({ storage }) => presignUpload({ storage })),
          Effect.map((upload) => new URL(upload.url).origin)
        )
      expect(yield* urlWith({})).toBe("http://localhost:3000")
      expect(yield* urlWith({ PORT: "4123" })).toBe("http://localhost:4123")
      expect(yield* urlWith({ PORT: "4123", IMGPIPE_PUBLIC_URL: "https://img.example.com" })).toBe(
        "https://img.example.com"
      )
      // An empty variable (common in compose files) means "not set".
      expect(yield* urlWith({ PORT: "4123", IMGPIPE_PUBLIC_URL: "" })).toBe("http://localhost:4123")
      const wrong = yield* Effect.flip(build({ IMGPIPE_DATA_DIR: dir, IMGPIPE_PUBLIC_URL: "ftp://x" }))
      expect(String(wrong)).toContain("IMGPIPE_PUBLIC_URL must be an http(s) URL")
    }))

  it.scoped("a configured secret is used as is and no file is written; a short one is refused", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const secret = "a-configured-secret-of-some-length"
      yield* build({ IMGPIPE_DATA_DIR: dir, IMGPIPE_SIGNING_SECRET: secret })
      expect(yield* Effect.promise(() => listFiles(dir))).toEqual([])
      const error = yield* Effect.flip(build({ IMGPIPE_DATA_DIR: dir, IMGPIPE_SIGNING_SECRET: "short" }))
      expect(error._tag).toBe("ConfigError")
      expect(String(error)).not.toContain("short")
    }))
})

describe("DiskStorage: open", () => {
  it.scoped("opens nothing until the stream runs, and refuses to stream a file replaced since it was described", () =>
    Effect.gen(function* () {
      const h = yield* storageHarness()
      const key = `${KEY}/small`
      yield* h.storage.put({
        bucket: "processed",
        key,
        body: bytesOf(100),
        contentType: JPEG,
        cacheControl: RENDITION_CACHE_CONTROL
      })
      const disk = yield* DiskStorage.pipe(Effect.provide(h.context))
      const opened = Option.getOrThrow(yield* disk.open("processed", key))
      expect(opened.bytes).toBe(100)
      const replaced = Option.getOrThrow(yield* disk.open("processed", key))
      // A reprocess renames a new file into place (here 101 bytes, so Content-Length would lie).
      yield* h.storage.put({
        bucket: "processed",
        key,
        body: bytesOf(101),
        contentType: JPEG,
        cacheControl: RENDITION_CACHE_CONTROL
      })
      const failed = yield* Effect.flip(Stream.runCollect(replaced.stream))
      expect(failed).toBeInstanceOf(FileChanged)
      const fresh = Option.getOrThrow(yield* disk.open("processed", key))
      const chunks = yield* Stream.runCollect(fresh.stream)
      expect(Chunk.reduce(chunks, 0, (n, c) => n + c.length)).toBe(101)
      expect(Option.isNone(yield* disk.open("processed", `${OTHER_KEY}/small`))).toBe(true)
    }))
})
