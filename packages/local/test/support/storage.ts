/**
 * The embedded object storage served for real: a temporary data folder, core's disk storage layer
 * and `makeStorageRouter` on 127.0.0.1:<free port>, plus helpers to drive it with `fetch` and raw
 * sockets.
 */
import { FileSystem, HttpRouter, HttpServer } from "@effect/platform"
import { NodeFileSystem, NodeHttpServer } from "@effect/platform-node"
import { expect } from "@effect/vitest"
import { ObjectStorage } from "@imgpipe/core"
import { type DiskStorage, diskStorageLayer } from "@imgpipe/core/local/DiskStorage"
import { Context, Effect, Layer, Logger, Option, type Scope } from "effect"
import { createHash } from "node:crypto"
import { readdir } from "node:fs/promises"
import { createServer } from "node:http"
import * as net from "node:net"
import * as NodePath from "node:path"
import { makeStorageRouter, type RawObjectCreated } from "../../src/storage-routes.js"

export const KEY = "0192d0c4-8e7a-7cc0-9a3b-5f7f3f1e2a10"
export const OTHER_KEY = "0192d0c4-8e7a-7cc0-9a3b-5f7f3f1e2a11"
export const JPEG = "image/jpeg"

export const bytesOf = (length: number, seed = 7): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}
export const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

/** Real time passes even under TestClock (for sockets and server-side cleanup). */
export const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Every file under `dir`, relative, sorted (objects, sidecars, and any leftover temp file). */
export const listFiles = async (dir: string): Promise<Array<string>> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => NodePath.relative(dir, NodePath.join(entry.parentPath, entry.name)))
    .sort()
}

export interface Harness {
  readonly dataDir: string
  readonly baseUrl: string
  readonly port: number
  readonly storage: ObjectStorage["Type"]
  readonly calls: ReadonlyArray<RawObjectCreated>
  readonly rawFiles: () => Effect.Effect<Array<string>>
  /** `ObjectStorage` and `DiskStorage` as the router sees them. */
  readonly context: Context.Context<ObjectStorage | DiskStorage>
}

/**
 * A data dir (a fresh temporary one unless given), the storage layer and the storage router
 * served on 127.0.0.1:<random>.
 */
export const harness = (
  options: {
    readonly failCallback?: boolean
    readonly dataDir?: string
    /**
     * Mount the router as the embedded runner does (`packages/local/src/layers.ts`): with the
     * context captured when its layer was built provided to every request, which carries that
     * layer's long-lived `Scope` in place of the request's own.
     */
    readonly mountedLikeTheRunner?: boolean
  } = {}
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dataDir = options.dataDir ?? (yield* fs.makeTempDirectoryScoped({ prefix: "imgpipe-disk-" }))
    const serverContext = yield* Layer.build(
      NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })
    )
    const address = Context.get(serverContext, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
    const baseUrl = `http://127.0.0.1:${address.port}`
    const storageContext = yield* Layer.build(
      diskStorageLayer({ dataDir, publicUrl: baseUrl, signingSecret: Option.none() }).pipe(
        Layer.provide(NodeFileSystem.layer)
      )
    )
    const calls: Array<RawObjectCreated> = []
    const router = makeStorageRouter((event) =>
      Effect.sync(() => calls.push(event)).pipe(
        Effect.zipRight(options.failCallback ? Effect.fail("database down") : Effect.void)
      )
    )
    const captured = Context.merge(storageContext, yield* Effect.context<Scope.Scope>())
    const served = options.mountedLikeTheRunner === true
      ? router.pipe(HttpRouter.use((app) => Effect.provide(app, captured)))
      : router
    yield* Layer.build(HttpServer.serve(served)).pipe(
      Effect.provide(Context.merge(serverContext, storageContext))
    )
    const rawDir = NodePath.join(dataDir, "objects", "raw")
    return {
      dataDir,
      baseUrl,
      port: address.port,
      storage: Context.get(storageContext, ObjectStorage),
      calls,
      rawFiles: () => Effect.promise(() => listFiles(rawDir)),
      context: storageContext
    } satisfies Harness
  }).pipe(Effect.provide(NodeFileSystem.layer))

export const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const body = new Uint8Array(await response.arrayBuffer())
    return { response, body, json: (): unknown => JSON.parse(new TextDecoder().decode(body)) }
  })

export const put = (url: string, body: Uint8Array, headers: Record<string, string>) =>
  request(url, { method: "PUT", body, headers })

export const presignUpload = (
  h: Pick<Harness, "storage">,
  input?: { key?: string; length?: number; contentType?: string; ttl?: number }
) =>
  h.storage.presignUpload({
    key: input?.key ?? KEY,
    contentType: input?.contentType ?? JPEG,
    contentLength: input?.length ?? 1000,
    expiresInSeconds: input?.ttl ?? 900
  })

/** Nothing in the raw folder (no object, sidecar or temp file), `head` sees nothing, no callback. */
export const expectNothingStored = (h: Harness, key = KEY) =>
  Effect.gen(function* () {
    // The server removes its temp file as its request fiber ends, which can be just after the
    // client saw the answer (or the hang-up): give it up to 2 s.
    for (let i = 0; i < 40 && (yield* h.rawFiles()).length > 0; i++) yield* realSleep(50)
    expect(yield* h.rawFiles()).toEqual([])
    expect(Option.isNone(yield* h.storage.head("raw", key))).toBe(true)
    expect(h.calls).toEqual([])
  })

export const expectRefusal = (
  result: { readonly response: Response; readonly json: () => unknown },
  status: number,
  code: string
) => {
  expect(result.response.status).toBe(status)
  expect(result.json()).toEqual({ error: code, message: expect.any(String) })
}

/** Sends bytes on a raw socket (fetch always tells the truth about Content-Length). */
export const rawHttp = (
  port: number,
  head: string,
  body: Uint8Array,
  options: { readonly pauseBeforeEndMs?: number } = {}
) =>
  Effect.promise(
    () =>
      new Promise<{ status: number | undefined; text: string }>((resolve) => {
        const socket = net.connect(port, "127.0.0.1")
        const chunks: Array<Buffer> = []
        socket.on("data", (chunk: Buffer) => chunks.push(chunk))
        socket.on("error", () => {})
        socket.on("close", () => {
          const text = Buffer.concat(chunks).toString("latin1")
          const match = /^HTTP\/1\.1 (\d{3})/.exec(text)
          resolve({ status: match?.[1] === undefined ? undefined : Number(match[1]), text })
        })
        socket.write(head)
        socket.write(body)
        // Half-close: the request body ends here, whatever Content-Length said.
        setTimeout(() => socket.end(), options.pauseBeforeEndMs ?? 0)
      })
  )

export const pathAndQuery = (url: string) => {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}

/**
 * Every log line written while the layer is provided (message and annotations, as text), to check
 * what reaches the log: the server built under it logs through it too.
 */
export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, message }) => {
    lines.push(JSON.stringify({ message, annotations: Object.fromEntries(annotations) }))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
