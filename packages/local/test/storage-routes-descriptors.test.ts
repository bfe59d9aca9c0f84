/**
 * Defect 2 of issue 9: every storage GET, HEAD and 304 left the rendition's file descriptor open,
 * until the process hit its open-files limit. Counted for real: the process's descriptors
 * (`/proc/self/fd`) before and after hundreds of requests on every path of the download route.
 */
import { describe, expect, it } from "@effect/vitest"
import { RENDITION_CACHE_CONTROL } from "@imgpipe/core"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import * as net from "node:net"
import { bytesOf, harness, JPEG, KEY, md5, OTHER_KEY, pathAndQuery, realSleep, request } from "./support/storage.js"

const openDescriptors = () => readdirSync("/proc/self/fd").length

/** Sockets and the server's cleanup settle in real time: wait (up to 5 s) for the count to drop. */
const settledDescriptors = (baseline: number) =>
  Effect.gen(function* () {
    let count = openDescriptors()
    for (let i = 0; i < 100 && count > baseline + 4; i++) {
      yield* realSleep(50)
      count = openDescriptors()
    }
    return count
  })

/** Starts a download on a raw socket, reads its first bytes, then hangs up mid-body. */
const abortedDownload = (port: number, url: string) =>
  Effect.promise(
    () =>
      new Promise<number>((resolve) => {
        const socket = net.connect(port, "127.0.0.1")
        let received = 0
        socket.on("data", (chunk: Buffer) => {
          received += chunk.length
          if (received > 64 * 1024) socket.destroy()
        })
        socket.on("error", () => {})
        socket.on("close", () => resolve(received))
        socket.write(`GET ${pathAndQuery(url)} HTTP/1.1\r\nHost: x\r\n\r\n`)
      })
  )

const PLATFORM_HAS_PROC = (() => {
  try {
    readdirSync("/proc/self/fd")
    return true
  } catch {
    return false
  }
})()

describe.skipIf(!PLATFORM_HAS_PROC)("DiskStorage: file descriptors", () => {
  const cases = [
    { name: "served on its own", mountedLikeTheRunner: false },
    // What leaked: the runner provides a context captured at start-up, whose Scope never closes.
    { name: "mounted as the runner mounts it", mountedLikeTheRunner: true }
  ]
  it.scoped.each(cases)(
    "$name: GET, HEAD, 304, 404, refused signatures and aborted downloads give their descriptor back",
    ({ mountedLikeTheRunner }) =>
      Effect.gen(function* () {
        const h = yield* harness({ mountedLikeTheRunner })
        const small = `${KEY}/small`
        const body = bytesOf(70_000)
        yield* h.storage.put({
          bucket: "processed",
          key: small,
          body,
          contentType: JPEG,
          cacheControl: RENDITION_CACHE_CONTROL
        })
        // Big enough that the answer cannot sit whole in the socket buffers when the client hangs up.
        const large = `${KEY}/large`
        yield* h.storage.put({
          bucket: "processed",
          key: large,
          body: bytesOf(8 * 1024 * 1024),
          contentType: JPEG,
          cacheControl: RENDITION_CACHE_CONTROL
        })
        const download = yield* h.storage.presignDownload({ bucket: "processed", key: small, expiresInSeconds: 3600 })
        const big = yield* h.storage.presignDownload({ bucket: "processed", key: large, expiresInSeconds: 3600 })
        const missing = yield* h.storage.presignDownload({
          bucket: "processed",
          key: `${OTHER_KEY}/small`,
          expiresInSeconds: 3600
        })
        const forged = download.url.replace(/sig=./, (s) => (s.endsWith("0") ? "sig=1" : "sig=0"))

        // One request first: the keep-alive connection and the server's lazy state exist from here on.
        expect((yield* request(download.url)).response.status).toBe(200)
        const baseline = openDescriptors()

        for (let i = 0; i < 200; i++) {
          const got = yield* request(download.url)
          expect(got.response.status).toBe(200)
          expect(got.body.length).toBe(body.length)
        }
        for (let i = 0; i < 200; i++) {
          expect((yield* request(download.url, { method: "HEAD" })).response.status).toBe(200)
        }
        for (let i = 0; i < 200; i++) {
          const cached = yield* request(download.url, { headers: { "if-none-match": `"${md5(body)}"` } })
          expect(cached.response.status).toBe(304)
        }
        for (let i = 0; i < 50; i++) {
          expect((yield* request(missing.url)).response.status).toBe(404)
          expect((yield* request(forged)).response.status).toBe(403)
        }
        for (let i = 0; i < 20; i++) {
          const received = yield* abortedDownload(h.port, big.url)
          expect(received).toBeGreaterThan(64 * 1024)
          expect(received).toBeLessThan(8 * 1024 * 1024)
        }

        const after = yield* settledDescriptors(baseline)
        expect(after - baseline).toBeLessThanOrEqual(4)
      })
  )
})
