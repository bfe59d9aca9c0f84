/**
 * The Lambda side of issue 12's metrics, traces and logs, through the wrapper every handler gets
 * (`observed`, `functionObservabilityLayer`): the metrics an invocation records come out as
 * CloudWatch EMF lines once per invocation (only what changed), an invocation's spans reach a real
 * OTLP/HTTP receiver before the handler returns, log lines are JSON, and a traceparent taken from
 * a message joins the receiver's spans to the sender's trace.
 */
import { describe, expect, it } from "@effect/vitest"
import { newImageId } from "@imgpipe/core"
import { recordRendition, recordUploads } from "@imgpipe/core/observability/metrics"
import { currentTraceparent, parseTraceparent, withTraceparent } from "@imgpipe/core/observability/traceContext"
import { makeMemoryServices } from "@imgpipe/core/testing"
import { startCollector } from "@imgpipe/local/test/support/otlpCollector"
import type { Context as LambdaContext } from "aws-lambda"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { vi } from "vitest"
import { ProcessImageSettings } from "../src/layers.js"
import { sqsEventRecord } from "../src/local/lambda-events.js"
import { functionObservabilityLayer, observed } from "../src/observability.js"
import { processImageHandler } from "../src/process-image.js"

const lambdaContext = {} as LambdaContext

/** What CloudWatch requires of an EMF line (the specification's MUSTs that apply here). */
const checkEmf = (line: string) => {
  const doc = JSON.parse(line) as Record<string, unknown> & {
    _aws: {
      Timestamp: number
      CloudWatchMetrics: Array<
        { Namespace: string; Dimensions: Array<Array<string>>; Metrics: Array<{ Name: string; Unit: string }> }
      >
    }
  }
  expect(typeof doc._aws.Timestamp).toBe("number")
  expect(doc._aws.CloudWatchMetrics).toHaveLength(1)
  const directive = doc._aws.CloudWatchMetrics[0]!
  expect(directive.Namespace).toBe("imgpipe")
  for (const set of directive.Dimensions) {
    expect(set.length).toBeLessThanOrEqual(30)
    for (const dimension of set) expect(typeof doc[dimension]).toBe("string")
  }
  for (const metric of directive.Metrics) {
    const value = doc[metric.Name]
    const values = Array.isArray(value) ? value : [value]
    expect(values.length).toBeGreaterThan(0)
    expect(values.length).toBeLessThanOrEqual(100)
    for (const v of values) expect(typeof v).toBe("number")
  }
  return doc
}

describe("EMF metrics per invocation", () => {
  it.effect("one flush per invocation: what it recorded, by function/size/outcome; nothing when nothing changed", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      let work: Effect.Effect<void> = Effect.void
      const handler = observed("process-image", () => work)
      // One layer for all invocations, as in a warm container.
      const layer = functionObservabilityLayer("process-image", (l) => lines.push(l))
      yield* Effect.gen(function* () {
        work = Effect.all([
          recordRendition({ size: "small", outcome: "processed", seconds: 0.3 }),
          recordRendition({ size: "small", outcome: "processed", seconds: 0.5 }),
          recordRendition({ size: "large", outcome: "retry", seconds: 0 })
        ], { discard: true })
        yield* handler({}, lambdaContext)
        const first = lines.splice(0).map(checkEmf)
        const small = first.find((doc) => doc["size"] === "small" && doc["outcome"] === "processed")!
        expect(small["function"]).toBe("process-image")
        expect(small["imgpipe_renditions_total"]).toBe(2)
        // The resize histogram's new observations, each as its bucket's upper bound.
        const resize = first.find((doc) => doc["size"] === "small" && doc["outcome"] === undefined)!
        expect(resize["imgpipe_resize_duration_seconds"]).toEqual([0.32, 0.64])
        expect(first.find((doc) => doc["size"] === "large")?.["imgpipe_renditions_total"]).toBe(1)

        work = Effect.void
        yield* handler({}, lambdaContext)
        expect(lines.splice(0)).toEqual([])

        work = recordUploads("started", 3)
        yield* handler({}, lambdaContext)
        const third = lines.splice(0).map(checkEmf)
        expect(third).toHaveLength(1)
        expect(third[0]).toMatchObject({ function: "process-image", outcome: "started", imgpipe_uploads_total: 3 })
      }).pipe(Effect.provide(layer))
    }))
})

describe("traces per invocation", () => {
  it.scoped("with OTEL_EXPORTER_OTLP_ENDPOINT the spans are at the receiver when the handler returns", () =>
    Effect.gen(function* () {
      const { spans, url } = yield* startCollector()
      // The sender (StartProcessing) put this on the message.
      const sent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
      const handler = observed(
        "process-image",
        () =>
          Effect.void.pipe(
            Effect.withSpan("ProcessImage.record"),
            withTraceparent(sent),
            Effect.withSpan("ProcessImage")
          )
      )
      yield* handler({}, lambdaContext).pipe(
        Effect.provide(functionObservabilityLayer("process-image", () => {})),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", url]])))
      )
      // No waiting: the invocation's tracer was closed (and flushed) before it returned.
      const record = spans.find((s) => s.name === "ProcessImage.record")
      expect(record?.traceId).toBe("0af7651916cd43dd8448eb211c80319c")
      expect(record?.parentSpanId).toBe("b7ad6b7169203331")
      expect(record?.service).toBe("imgpipe-process-image")
    }))

  it.scoped("ProcessImage runs each record under its traceparent attribute and counts it in EMF", () =>
    Effect.gen(function* () {
      const { spans, url } = yield* startCollector()
      const id = yield* newImageId
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
      // A job for an image the database does not know: skipped, acknowledged.
      const record = sqsEventRecord(
        {
          MessageId: "m-1",
          Body: JSON.stringify({ image_id: id, raw_key: id, size: "medium" }),
          MessageAttributes: { traceparent: { DataType: "String", StringValue: traceparent } }
        },
        "arn:aws:sqs:us-east-1:000000000000:process-medium",
        "us-east-1"
      )
      const lines: Array<string> = []
      const services = makeMemoryServices()
      const result = yield* observed("process-image", processImageHandler)({ Records: [record] }, lambdaContext).pipe(
        // Inside the services' layer, which sets its own config provider for the settings.
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", url]]))),
        Effect.provide(functionObservabilityLayer("process-image", (line) => lines.push(line))),
        Effect.provide(Layer.succeed(ProcessImageSettings, { maxReceives: 3, concurrency: 2 })),
        Effect.provide(services.layer)
      )
      expect(result).toEqual({ batchItemFailures: [] })
      const span = spans.find((s) => s.name === "ProcessImage.record")
      expect(span).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" })
      const emf = lines.map(checkEmf)
      expect(emf).toContainEqual(
        expect.objectContaining({
          function: "process-image",
          size: "medium",
          outcome: "skipped",
          imgpipe_renditions_total: 1
        })
      )
    }))

  it.effect("without it the tracer is off: no span, no traceparent to send", () =>
    Effect.gen(function* () {
      const handler = observed("start-processing", () => currentTraceparent.pipe(Effect.withSpan("StartProcessing")))
      const traceparent = yield* handler({}, lambdaContext).pipe(
        Effect.provide(functionObservabilityLayer("start-processing", () => {})),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(Option.isNone(traceparent)).toBe(true)
    }))

  it("traceparent parsing refuses malformed and all-zero ids", () => {
    expect(Option.isSome(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))).toBe(true)
    for (
      const bad of [
        "",
        "garbage",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01"
      ]
    ) {
      expect(Option.isNone(parseTraceparent(bad))).toBe(true)
    }
  })
})

describe("logs", () => {
  // A plain test: @effect/vitest's test environment removes the default logger this one replaces.
  it("JSON lines by default in Lambda (IMGPIPE_LOG_FORMAT=json): one object per line, message and level", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {})
    let printed: Array<unknown> = []
    try {
      const handler = observed(
        "reconcile",
        () => Effect.logInfo("reconcile done").pipe(Effect.annotateLogs({ expired: 2 }))
      )
      await Effect.runPromise(
        handler({}, lambdaContext).pipe(
          Effect.provide(functionObservabilityLayer("reconcile", () => {})),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      printed = log.mock.calls.map((call) => call[0])
    } finally {
      log.mockRestore()
    }
    expect(printed).toHaveLength(1)
    const line = JSON.parse(String(printed[0])) as Record<string, unknown>
    expect(line).toMatchObject({ message: "reconcile done", logLevel: "INFO", annotations: { expired: 2 } })
  })

  it.effect("a wrong IMGPIPE_LOG_FORMAT stops the start with what is wrong", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(functionObservabilityLayer("reconcile", () => {})).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["IMGPIPE_LOG_FORMAT", "xml"]]))),
        Effect.flip
      )
      expect(String(error)).toContain("IMGPIPE_LOG_FORMAT")
      expect(String(error)).toContain("json, logfmt or pretty")
    }))
})
