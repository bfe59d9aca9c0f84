/**
 * The embedded object storage without its HTTP routes (those are tested in packages/local): a
 * temporary data folder and the storage layer, plus helpers shared by the disk tests.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Context, Effect, Layer, Option } from "effect"
import { createHash } from "node:crypto"
import { readdir } from "node:fs/promises"
import * as NodePath from "node:path"
import { type DiskStorage, diskStorageLayer } from "../../src/local/DiskStorage.js"
import { ObjectStorage } from "../../src/services/ObjectStorage.js"

export const KEY = "0192d0c4-8e7a-7cc0-9a3b-5f7f3f1e2a10"
export const OTHER_KEY = "0192d0c4-8e7a-7cc0-9a3b-5f7f3f1e2a11"
export const JPEG = "image/jpeg"

export const bytesOf = (length: number, seed = 7): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}
export const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

/** Real time passes even under TestClock (for file times and background work). */
export const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Every file under `dir`, relative, sorted (objects, sidecars, and any leftover temp file). */
export const listFiles = async (dir: string): Promise<Array<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => NodePath.relative(dir, NodePath.join(entry.parentPath, entry.name)))
    .sort()
}

export interface StorageHarness {
  readonly dataDir: string
  readonly storage: ObjectStorage["Type"]
  readonly rawFiles: () => Effect.Effect<Array<string>>
  /** `ObjectStorage` and `DiskStorage` as the layer provides them. */
  readonly context: Context.Context<ObjectStorage | DiskStorage>
}

/** A fresh temporary data folder and the storage layer on it (links point at `publicUrl`). */
export const storageHarness = (options: { readonly publicUrl?: string } = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dataDir = yield* fs.makeTempDirectoryScoped({ prefix: "imgpipe-disk-" })
    const context = yield* Layer.build(
      diskStorageLayer({
        dataDir,
        publicUrl: options.publicUrl ?? "http://127.0.0.1:9",
        signingSecret: Option.none()
      }).pipe(Layer.provide(NodeFileSystem.layer))
    )
    const rawDir = NodePath.join(dataDir, "objects", "raw")
    return {
      dataDir,
      storage: Context.get(context, ObjectStorage),
      rawFiles: () => Effect.promise(() => listFiles(rawDir)),
      context
    } satisfies StorageHarness
  }).pipe(Effect.provide(NodeFileSystem.layer))

export const presignUpload = (
  h: Pick<StorageHarness, "storage">,
  input?: { key?: string; length?: number; contentType?: string; ttl?: number }
) =>
  h.storage.presignUpload({
    key: input?.key ?? KEY,
    contentType: input?.contentType ?? JPEG,
    contentLength: input?.length ?? 1000,
    expiresInSeconds: input?.ttl ?? 900
  })
