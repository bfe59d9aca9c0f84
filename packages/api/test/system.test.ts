/**
 * The `system` group and what the server answers outside the contract: /health, /ready, unknown
 * routes, extra raw routes, /openapi.json and /docs. Harness: support/harness.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { call, expectError, makeHarness } from "./support/harness.js"

const open = makeHarness([])

describe("system: health, readiness, routes, docs (no API keys)", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    it.effect("GET /health answers 200 ok; GET /ready follows the database", () =>
      Effect.gen(function* () {
        const health = yield* call("/health")
        expect(health.status).toBe(200)
        expect(health.json).toEqual({ status: "ok" })

        const ready = yield* call("/ready")
        expect(ready.status).toBe(200)
        expect(ready.json).toEqual({ status: "ok" })

        open.repository.state.pingFails = true
        const notReady = yield* call("/ready").pipe(
          Effect.ensuring(Effect.sync(() => {
            open.repository.state.pingFails = false
          }))
        )
        expectError(notReady, 503, "not_ready")
        expect(notReady.text).not.toMatch(/10\.0\.0\.5|refused/)

        expect((yield* call("/ready")).status).toBe(200)
      }))

    it.effect("an unknown route answers 404 not_found as JSON", () =>
      Effect.gen(function* () {
        expectError(yield* call("/nope"), 404, "not_found")
        expectError(yield* call("/health", { method: "DELETE" }), 404, "not_found")
      }))

    it.effect("extra raw routes are served by the same server", () =>
      Effect.gen(function* () {
        const answer = yield* call("/storage/ping")
        expect(answer.status).toBe(200)
        expect(answer.text).toBe("storage routes live here")
        // A raw route's own respondable error keeps its response; a defect gets the common 500 body.
        const expired = yield* call("/storage/expired")
        expect(expired.status).toBe(403)
        expect(expired.text).toBe("signature expired")
        expectError(yield* call("/storage/broken"), 500, "internal_error")
      }))

    it.effect("GET /openapi.json documents every endpoint and the real error body", () =>
      Effect.gen(function* () {
        const answer = yield* call("/openapi.json")
        expect(answer.status).toBe(200)
        const spec = answer.json as {
          info: { title: string; version: string; description?: string }
          paths: Record<
            string,
            Record<
              string,
              { responses: Record<string, unknown>; parameters: Array<{ name: string; in: string; required: boolean }> }
            >
          >
          components: { schemas: Record<string, unknown> }
        }
        expect(spec.info.title).toBe("imgpipe")
        expect(spec.info.description).toBeDefined()
        expect(Object.keys(spec.paths).sort()).toEqual(expect.arrayContaining(
          ["/docs", "/get_image", "/health", "/images/{image_id}", "/openapi.json", "/ready", "/upload"]
        ))
        expect(Object.keys(spec.paths).filter((path) => path.startsWith("/admin/")).sort()).toEqual(
          ["/admin/dlq/redrive", "/admin/images", "/admin/images/{image_id}/reprocess", "/admin/queues"]
        )
        expect(Object.keys(spec.paths["/upload"] ?? {})).toEqual(["post"])
        expect(Object.keys(spec.paths["/get_image"]?.["get"]?.responses ?? {}).sort()).toEqual(
          ["200", "302", "400", "404", "422", "500", "503"]
        )
        expect(Object.keys(spec.paths["/upload"]?.["post"]?.responses ?? {}).sort()).toEqual(
          ["201", "400", "401", "413", "415", "500", "503"]
        )
        expect(spec.paths["/get_image"]?.["get"]?.parameters).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ name: "image_id", in: "query", required: true }),
            expect.objectContaining({ name: "image_size", in: "query", required: true })
          ])
        )
        expect(spec.components.schemas["BadRequestError"]).toMatchObject({
          type: "object",
          required: ["error", "message"],
          properties: { error: { enum: ["bad_request"] } }
        })
        // The framework's own decode error never reaches a client, so it is not documented.
        expect(answer.text).not.toContain("HttpApiDecodeError")
      }))

    it.effect("GET /docs serves a self-contained HTML page", () =>
      Effect.gen(function* () {
        const answer = yield* call("/docs")
        expect(answer.status).toBe(200)
        expect(answer.headers.get("content-type")).toMatch(/^text\/html/)
        expect(answer.text).toContain("swagger-ui")
        expect(answer.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:/)
      }))
  })
})
