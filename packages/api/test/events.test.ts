/**
 * The `events` group over HTTP with the in-memory services and feed (support/harness.ts): the
 * OpenAPI document describes the stream, and a stream follows writes to the repository until ready.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { asId, call, makeHarness, postJson, TestServer } from "./support/harness.js"

const open = makeHarness([])

describe("events: GET /images/{image_id}/events", () => {
  layer(open.layer, { excludeTestServices: true })((it) => {
    it.effect("OpenAPI: a text/event-stream 200, a 204, 400 and 404, bearer security", () =>
      Effect.gen(function* () {
        const answer = yield* call("/openapi.json")
        const spec = answer.json as {
          paths: Record<string, Record<string, { responses: Record<string, { content?: object }>; security?: unknown }>>
        }
        const operation = spec.paths["/images/{image_id}/events"]!["get"]!
        expect(Object.keys(operation.responses["200"]!.content!)).toEqual(["text/event-stream"])
        expect(Object.keys(operation.responses).sort()).toEqual(expect.arrayContaining(["200", "204", "400", "404"]))
        expect(operation.security).toEqual([{ bearer: [] }])
      }))

    it.effect("the status at once, each write after it, the end after ready", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const ticket = (yield* postJson("/upload", { content_type: "image/jpeg", content_length: 10 })).json as {
          image_id: string
        }
        const id = asId(ticket.image_id)
        const response = yield* Effect.promise(() => fetch(`${baseUrl}/images/${id}/events`))
        expect(response.status).toBe(200)
        const text = Effect.promise(() => response.text())
        const repo = open.repository.service
        yield* Effect.sleep("50 millis")
        yield* repo.markUploaded([{ id, bytes: 10 }])
        for (const size of ["small", "medium", "large"] as const) {
          yield* Effect.sleep("50 millis")
          yield* repo.recordRendition(
            id,
            size,
            { key: `k/${size}`, width: 1, height: 1, bytes: 1, contentType: "image/jpeg" },
            ["small", "medium", "large"]
          )
        }
        const body = yield* text
        const statuses = body.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
          (JSON.parse(line.slice(6)) as { status: string }).status
        )
        expect(statuses[0]).toBe("awaiting_upload")
        expect(statuses.at(-1)).toBe("ready")
        expect(statuses).toContain("processing")
        expect(body.startsWith("retry: 2000\n")).toBe(true)
      }))
  })
})
