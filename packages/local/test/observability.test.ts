/**
 * Issue 12's traces and metrics on the embedded runner's layers, as a client and an operator see
 * them: `GET /metrics` after an upload has the request, upload, rendition and resize series with
 * sensible values in valid Prometheus text; it takes the admin key when admin keys are set; and with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a real OTLP/HTTP receiver (a node:http server taking
 * the JSON export), the upload request, the start and each size's job arrive as spans of one trace.
 */
import { describe, expect, layer } from "@effect/vitest"
import { makeTracingLayer } from "@imgpipe/core/observability/tracing"
import { ConfigProvider, Effect, Layer } from "effect"
import { makeTestApp, TestServer } from "./support/app.js"
import { fixture, getStatus, uploadBytes, waitUntilSettled } from "./support/client.js"
import { type OtlpSpan, startCollector } from "./support/otlpCollector.js"

const PHOTO = "photo-1280x1024-grass-progressive.jpg"

// ---- Prometheus text, checked line by line ----------------------------------------------------

interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/
const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy

/** Parses exposition format 0.0.4 strictly enough to fail on a malformed line. */
const parsePrometheus = (text: string) => {
  const types = new Map<string, string>()
  const samples: Array<Sample> = []
  expect(text.endsWith("\n")).toBe(true)
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      expect(line.split(" ")[2]).toMatch(nameRe)
      continue
    }
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ")
      expect(name).toMatch(nameRe)
      expect(["counter", "gauge", "histogram"]).toContain(type)
      expect(types.has(name!)).toBe(false) // one TYPE line per family
      types.set(name!, type!)
      continue
    }
    const match = sampleRe.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`)
    const [, name, , labelText, value] = match
    const labels: Record<string, string> = {}
    if (labelText !== undefined && labelText.length > 0) {
      labelRe.lastIndex = 0
      let consumed = 0
      for (let m = labelRe.exec(labelText); m !== null; m = labelRe.exec(labelText)) {
        labels[m[1]!] = m[2]!
        consumed = labelRe.lastIndex
      }
      expect(consumed).toBe(labelText.length)
    }
    const family = name!.replace(/_(bucket|sum|count)$/, "")
    // Every sample belongs to a family declared above it.
    expect(types.has(name!) || types.get(family) === "histogram").toBe(true)
    samples.push({ name: name!, labels, value: value === "+Inf" ? Infinity : Number(value) })
  }
  return { types, samples }
}

const find = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

const sum = (samples: ReadonlyArray<Sample>) => samples.reduce((total, s) => total + s.value, 0)

const scrape = (baseUrl: string, headers: Record<string, string> = {}) =>
  Effect.promise(() => fetch(`${baseUrl}/metrics`, { headers }))

describe("GET /metrics", () => {
  layer(makeTestApp({ workers: true }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "after an upload: request, upload, rendition and resize series with sensible values",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const before = parsePrometheus(
            yield* Effect.promise(() => scrape(baseUrl).pipe(Effect.runPromise).then((r) => r.text()))
          )
          const bytes = fixture(PHOTO)
          const ticket = yield* Effect.promise(() => uploadBytes(baseUrl, bytes, "image/jpeg"))
          expect((yield* Effect.promise(() => waitUntilSettled(baseUrl, ticket.image_id))).status).toBe("ready")
          // One plain status request (waitUntilSettled may use the event stream).
          expect((yield* Effect.promise(() => getStatus(baseUrl, ticket.image_id))).status).toBe("ready")

          const answer = yield* scrape(baseUrl)
          expect(answer.status).toBe(200)
          expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
          const { samples, types } = parsePrometheus(yield* Effect.promise(() => answer.text()))
          const delta = (name: string, labels: Record<string, string>) =>
            sum(find(samples, name, labels)) - sum(find(before.samples, name, labels))

          expect(types.get("imgpipe_http_requests_total")).toBe("counter")
          expect(types.get("imgpipe_http_request_duration_seconds")).toBe("histogram")
          expect(types.get("imgpipe_resize_duration_seconds")).toBe("histogram")
          // The route label is the pattern, never the URL with the id.
          expect(delta("imgpipe_http_requests_total", { route: "/upload", method: "POST", status: "201" })).toBe(1)
          expect(delta("imgpipe_http_requests_total", { route: "/storage/raw/:key", method: "PUT", status: "200" }))
            .toBe(1)
          expect(delta("imgpipe_http_requests_total", { route: "/images/:image_id", method: "GET", status: "200" }))
            .toBeGreaterThanOrEqual(1)
          expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes(ticket.image_id)))).toBe(false)
          expect(delta("imgpipe_uploads_total", { outcome: "started" })).toBe(1)
          for (const size of ["small", "medium", "large"]) {
            expect(delta("imgpipe_renditions_total", { size, outcome: "processed" })).toBe(1)
            // A histogram: cumulative buckets ending at +Inf = _count, a positive sum below a minute.
            const buckets = find(samples, "imgpipe_resize_duration_seconds_bucket", { size })
            const values = buckets.map((b) => b.value)
            expect(values).toEqual([...values].sort((a, b) => a - b))
            expect(buckets.at(-1)?.labels["le"]).toBe("+Inf")
            const count = find(samples, "imgpipe_resize_duration_seconds_count", { size })[0]?.value
            expect(buckets.at(-1)?.value).toBe(count)
            const seconds = find(samples, "imgpipe_resize_duration_seconds_sum", { size })[0]?.value ?? 0
            expect(seconds).toBeGreaterThan(0)
            expect(seconds).toBeLessThan(60)
          }
          // The queue gauges, read from the queue tables at scrape time: all work done, nothing waiting.
          expect(types.get("imgpipe_queue_depth")).toBe("gauge")
          expect(types.get("imgpipe_dead_letter_depth")).toBe("gauge")
          for (const queue of ["small", "medium", "large"]) {
            expect(find(samples, "imgpipe_queue_depth", { queue }).map((s) => s.value)).toEqual([0])
            expect(find(samples, "imgpipe_queue_oldest_age_seconds", { queue }).map((s) => s.value)).toEqual([0])
          }
          expect(find(samples, "imgpipe_dead_letter_depth", { queue: "dead_letter" }).map((s) => s.value)).toEqual([0])
          // The POST /upload latency histogram counted it.
          expect(delta("imgpipe_http_request_duration_seconds_count", { route: "/upload", method: "POST" })).toBe(1)
        }),
      90_000
    )
  })

  layer(
    makeTestApp({ env: { IMGPIPE_ADMIN_KEYS: "admin-key-1", IMGPIPE_API_KEYS: "upload-key-1" } }),
    { excludeTestServices: true, timeout: 120_000 }
  )((it) => {
    it.effect("takes the admin key when admin keys are set: none → 401, an upload key → 403", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const none = yield* scrape(baseUrl)
        expect(none.status).toBe(401)
        expect(yield* Effect.promise(() => none.json())).toMatchObject({ error: "unauthorized" })
        const upload = yield* scrape(baseUrl, { authorization: "Bearer upload-key-1" })
        expect(upload.status).toBe(403)
        expect(yield* Effect.promise(() => upload.json())).toMatchObject({ error: "forbidden" })
        const admin = yield* scrape(baseUrl, { authorization: "Bearer admin-key-1" })
        expect(admin.status).toBe(200)
        expect(yield* Effect.promise(() => admin.text())).toContain("# TYPE imgpipe_http_requests_total counter")
      }))
  })
})

// ---- traces -------------------------------------------------------------------------------------

class Collector extends Effect.Tag("test/Collector")<
  Collector,
  { readonly url: string; readonly spans: Array<OtlpSpan & { service: string }> }
>() {}

const CollectorLive = Layer.scoped(Collector, Effect.map(startCollector(), ({ spans, url }) => ({ url, spans })))

const TracedApp = Layer.unwrapEffect(
  Effect.map(Collector, ({ url }) => {
    const env = new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", url]])
    return makeTestApp({ workers: true, env: Object.fromEntries(env) }).pipe(
      Layer.provide(
        makeTracingLayer("imgpipe-local").pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))
      ),
      Layer.orDie
    )
  })
).pipe(Layer.provideMerge(CollectorLive))

describe("traces", () => {
  layer(TracedApp, { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect(
      "one trace joins the upload request, the start and each size's job (OTLP/HTTP JSON)",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServer
          const collector = yield* Collector
          const bytes = fixture(PHOTO)
          const ticket = yield* Effect.promise(() => uploadBytes(baseUrl, bytes, "image/jpeg"))
          expect((yield* Effect.promise(() => waitUntilSettled(baseUrl, ticket.image_id))).status).toBe("ready")

          const jobSpans = () =>
            collector.spans.filter((span) =>
              span.name === "ProcessImage" &&
              span.attributes?.some((a) => a.key === "imgpipe.image_id" && a.value.stringValue === ticket.image_id)
            )
          // The exporter sends every 5 s.
          const deadline = Date.now() + 20_000
          while (jobSpans().length < 3 && Date.now() < deadline) yield* Effect.sleep("200 millis")
          const jobs = jobSpans()
          expect(jobs).toHaveLength(3)
          const traceId = jobs[0]!.traceId
          expect(new Set(jobs.map((span) => span.traceId))).toEqual(new Set([traceId]))
          const trace = collector.spans.filter((span) => span.traceId === traceId)
          const names = new Set(trace.map((span) => span.name))
          // The storage PUT request (the API server's span), the start, the three jobs.
          expect([...names]).toEqual(
            expect.arrayContaining(["http.server PUT", "startProcessing.send", "ProcessImage"])
          )
          expect(trace.every((span) => span.service === "imgpipe-local")).toBe(true)
          // Each job's span hangs under the start's span (through the queue's send span).
          const send = trace.find((span) => span.name === "startProcessing.send")!
          const byId = new Map(trace.map((span) => [span.spanId, span]))
          const ancestors = (span: OtlpSpan): Array<string> => {
            const parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId)
            return parent === undefined ? [] : [parent.spanId, ...ancestors(parent)]
          }
          for (const job of jobs) expect(ancestors(job)).toContain(send.spanId)
        }),
      90_000
    )
  })
})
