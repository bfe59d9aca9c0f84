/**
 * The request middleware on its own (a web handler around a trivial app): the route label is the
 * contract's path pattern (never the URL, never an id), unknown paths are `other`, every request is
 * counted, and with JSON logs the one line per request carries method, route, status and duration
 * as fields for CloudWatch Logs Insights.
 */
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { makeLogFormatLayer } from "@imgpipe/core/observability/logging"
import { prometheusText } from "@imgpipe/core/observability/prometheus"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, describe, expect, it, vi } from "vitest"
import { makeRouteLabel, requestLog } from "../src/requestLog.js"

const ID = "01937a3e-5c1b-7000-8000-0123456789ab"

describe("route labels", () => {
  const routeOf = makeRouteLabel(["PUT /storage/raw/:key", "GET /storage/:bucket/*"])
  it("are the contract's patterns, the extra routes', or other", () => {
    expect(routeOf("POST", "/upload")).toBe("/upload")
    expect(routeOf("GET", `/images/${ID}`)).toBe("/images/:image_id")
    expect(routeOf("HEAD", `/images/${ID}?x=1`)).toBe("/images/:image_id")
    expect(routeOf("GET", `/get_image?image_id=${ID}&image_size=small`)).toBe("/get_image")
    expect(routeOf("GET", "/metrics")).toBe("/metrics")
    expect(routeOf("PUT", `/storage/raw/${ID}?sig=abc`)).toBe("/storage/raw/:key")
    expect(routeOf("GET", `/storage/processed/${ID}/small`)).toBe("/storage/:bucket/*")
    expect(routeOf("GET", "/wp-login.php")).toBe("other")
    expect(routeOf("DELETE", "/upload")).toBe("other")
  })
})

describe("the request log", () => {
  const runtime = ManagedRuntime.make(
    makeLogFormatLayer("json").pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))),
      Layer.orDie
    )
  )
  afterAll(() => runtime.dispose())

  it("JSON: one line per request with its fields; the request is counted under its pattern", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {})
    let lines: Array<Record<string, unknown>> = []
    try {
      const handler = HttpApp.toWebHandlerRuntime(await runtime.runtime())(
        requestLog()(HttpServerResponse.text("ok", { status: 200 }))
      )
      const answer = await handler(new Request(`http://localhost/images/${ID}`))
      expect(answer.status).toBe(200)
      lines = log.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>)
    } finally {
      log.mockRestore()
    }
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      message: expect.stringMatching(new RegExp(`^GET /images/${ID} 200 \\d+ms$`)),
      logLevel: "INFO",
      annotations: { method: "GET", route: "/images/:image_id", status: 200, duration_ms: expect.any(Number) }
    })
    const metrics = await Effect.runPromise(prometheusText)
    const counted = metrics.split("\n").filter((line) => line.startsWith("imgpipe_http_requests_total{"))
    expect(counted).toEqual([
      expect.stringMatching(
        /^imgpipe_http_requests_total\{(?=.*route="\/images\/:image_id")(?=.*method="GET")(?=.*status="200").*\} 1$/
      )
    ])
    expect(metrics).not.toContain(ID)
  })
})
