/**
 * Issue 9, HTTP layer: one request log line per request with signatures redacted (defect 8), the
 * OpenAPI document's examples and servers (newcomer item), and `/ready` failing when the process
 * cannot open files (defect 2). Over the ECS composition on real servers.
 */
import { describe, expect, it as vit, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { Agent, request } from "node:http"
import { resolve } from "node:path"
import { createInterface } from "node:readline"
import { EcsServer, makeEcsServer, TestDatabase } from "./support/ecs.js"

const get = (baseUrl: string, path: string, headers: Record<string, string> = {}) =>
  Effect.promise(() => fetch(`${baseUrl}${path}`, { headers, redirect: "manual" }))

layer(TestDatabase, { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.layer(makeEcsServer(), { timeout: 60_000 })("request log", (it) => {
    it.effect("one line per request: method, path, status, time", () =>
      Effect.gen(function* () {
        const { baseUrl, logs } = yield* EcsServer
        const upload = yield* Effect.promise(() =>
          fetch(`${baseUrl}/upload`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content_type: "image/png", content_length: 1234 })
          })
        )
        expect(upload.status).toBe(201)
        yield* get(baseUrl, "/no/such/route")
        yield* get(baseUrl, "/health")
        const lines = (pattern: RegExp) => logs.filter((line) => pattern.test(line))
        expect(lines(/\/upload/)).toEqual([expect.stringMatching(/^POST \/upload 201 \d+ms$/)])
        expect(lines(/\/no\/such\/route/)).toEqual([expect.stringMatching(/^GET \/no\/such\/route 404 \d+ms$/)])
        // Probes stay out of the log.
        expect(lines(/\/health/)).toEqual([])
      }))

    it.effect("signatures never reach the log, whatever route answers", () =>
      Effect.gen(function* () {
        const { baseUrl, logs } = yield* EcsServer
        const secrets = ["f00dfeedsig0123456789", "AMZSIGNATURE987", "AKIDSECRETCRED", "SESSIONTOKEN42"]
        // A signed storage URL that falls through to "no such route".
        yield* get(baseUrl, `/storage/raw/some-key?content_type=image%2Fjpeg&expires=1&sig=${secrets[0]}`)
        // S3-style presigned parameters, on an API route that refuses the request.
        yield* get(
          baseUrl,
          `/get_image?image_id=nope&X-Amz-Signature=${secrets[1]}&x-amz-credential=${secrets[2]}` +
            `&X-Amz-Security-Token=${secrets[3]}&image_size=small`
        )
        const text = logs.join("\n")
        for (const secret of secrets) expect(text).not.toContain(secret)
        expect(text).toMatch(
          /^GET \/storage\/raw\/some-key\?content_type=image%2Fjpeg&expires=1&sig=\[redacted\] 404 \d+ms$/m
        )
        expect(text).toContain("X-Amz-Signature=[redacted]&x-amz-credential=[redacted]")
      }))

    it.effect("GET /openapi.json has working examples and a servers entry for \"Try it out\"", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* EcsServer
        const document = yield* get(baseUrl, "/openapi.json")
        const spec = (yield* Effect.promise(() => document.json())) as {
          servers: Array<{ url: string }>
          paths: Record<
            string,
            Record<string, {
              parameters?: Array<{ name: string; example?: unknown }>
              requestBody?: { content: Record<string, { example?: unknown }> }
            }>
          >
        }
        expect(spec.servers).toEqual([{ url: "/", description: expect.any(String) }])
        const uploadExample = spec.paths["/upload"]?.["post"]?.requestBody?.content["application/json"]?.example
        expect(uploadExample).toEqual({ content_type: "image/jpeg", content_length: 245_760 })
        const params = Object.fromEntries(
          (spec.paths["/get_image"]?.["get"]?.parameters ?? []).map((p) => [p.name, p.example])
        )
        expect(params["image_id"]).toMatch(/^[0-9a-f-]{36}$/)
        expect(params["image_size"]).toBe("medium")
        const statusParams = spec.paths["/images/{image_id}"]?.["get"]?.parameters ?? []
        expect(statusParams.find((p) => p.name === "image_id")?.example).toBe(params["image_id"])

        // The examples are accepted as they stand: the upload example creates an upload, the
        // get_image example is a well-formed request for an unknown image.
        const created = yield* Effect.promise(() =>
          fetch(`${baseUrl}/upload`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(uploadExample)
          })
        )
        expect(created.status).toBe(201)
        const fetched = yield* get(baseUrl, `/get_image?image_id=${params["image_id"]}&image_size=medium`)
        expect(fetched.status).toBe(404)
      }))
  })
})

// ---- readiness at the open-files limit ----------------------------------------------------------

/** The child's stdout, line by line, and a way to send it a command and await its answer. */
const startChild = () => {
  const child = spawn(
    "bash",
    [
      "-c",
      "ulimit -n 256 && exec \"$0\" \"$@\"",
      process.execPath,
      "--import",
      "tsx",
      resolve(import.meta.dirname, "support/fd-child.ts")
    ],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env } }
  )
  const waiting: Array<(line: string) => void> = []
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.(line))
  const next = () =>
    new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error("the child did not answer within 90 s")), 90_000)
      waiting.push((line) => {
        clearTimeout(timer)
        done(line)
      })
    })
  const send = (command: string) => {
    const answer = next()
    child.stdin.write(`${command}\n`)
    return answer
  }
  return { child, next, send }
}

/** GET over one kept-alive connection, so a request needs no new descriptor in the server. */
const keptAlive = (agent: Agent, url: string) =>
  new Promise<{ status: number; body: string }>((done, fail) => {
    request(url, { agent }, (res) => {
      const parts: Array<Buffer> = []
      res.on("data", (part: Buffer) => parts.push(part))
      res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }))
    }).on("error", fail).end()
  })

describe("GET /ready at the open-files limit", () => {
  vit.effect(
    "answers 503 not_ready while the process cannot open files, 200 again once it can",
    () =>
      Effect.promise(async () => {
        const { child, next, send } = startChild()
        const agent = new Agent({ keepAlive: true, maxSockets: 1 })
        try {
          const baseUrl = (await next()).replace(/^listening /, "")
          expect((await keptAlive(agent, `${baseUrl}/ready`)).status).toBe(200)

          expect(await send("exhaust")).toMatch(/^exhausted \d+ EMFILE$/)
          const refused = await keptAlive(agent, `${baseUrl}/ready`)
          expect(refused.status).toBe(503)
          expect(JSON.parse(refused.body)).toEqual({
            error: "not_ready",
            message: expect.stringContaining("EMFILE")
          })

          expect(await send("release")).toBe("released")
          expect((await keptAlive(agent, `${baseUrl}/ready`)).status).toBe(200)
        } finally {
          agent.destroy()
          child.kill("SIGKILL")
        }
      }),
    120_000
  )
})
