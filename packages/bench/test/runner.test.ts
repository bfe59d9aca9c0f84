/**
 * The bench's client upload (packages/bench/src/runner.ts), against a stand-in API on node:http:
 * POST /upload for a ticket, then the PUT with the ticket's method and headers; a refusal names
 * the step and the status.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPhoto, uploadPhoto } from "../src/runner.js"

const received: Array<
  { readonly method: string; readonly url: string; readonly contentType: string; readonly bytes: number }
> = []
let server: Server
let baseUrl = ""

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        contentType: req.headers["content-type"] ?? "",
        bytes: body.length
      })
      if (req.url === "/upload") {
        const { content_type } = JSON.parse(body.toString()) as { content_type: string }
        if (content_type === "image/png") {
          return void res.writeHead(415).end(JSON.stringify({ error: "unsupported_type" }))
        }
        const target = content_type === "image/webp" ? "/refuse" : "/put"
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({
          image_id: "0190a0a0-0000-7000-8000-000000000001",
          upload: { method: "PUT", url: `${baseUrl}${target}`, headers: { "content-type": content_type } }
        }))
      } else res.writeHead(req.url === "/put" ? 200 : 403).end()
    })
  })
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((closed) => server.close(() => closed())))

describe("uploadPhoto", () => {
  it("asks for a ticket, then PUTs the bytes with the ticket's headers", async () => {
    const photo = loadPhoto("photo-246x345.tiff")
    expect(await uploadPhoto(baseUrl, photo)).toEqual({
      _tag: "Uploaded",
      imageId: "0190a0a0-0000-7000-8000-000000000001"
    })
    expect(received.slice(-2)).toEqual([
      { method: "POST", url: "/upload", contentType: "application/json", bytes: expect.any(Number) },
      { method: "PUT", url: "/put", contentType: "image/tiff", bytes: photo.bytes.byteLength }
    ])
  })

  it("names the step that refused", async () => {
    expect(await uploadPhoto(baseUrl, loadPhoto("alpha-2048x1536-rgba.png"))).toEqual({
      _tag: "Refused",
      step: "upload",
      status: 415
    })
    expect(await uploadPhoto(baseUrl, loadPhoto("photo-1024x772.webp"))).toEqual({
      _tag: "Refused",
      step: "put",
      status: 403
    })
  })
})
