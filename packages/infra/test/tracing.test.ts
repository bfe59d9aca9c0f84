/**
 * Traces in AWS (issue 12, "Traces, metrics, logs"): `OTEL_EXPORTER_OTLP_ENDPOINT` (and its headers)
 * in the environment of `sst deploy` reach every runtime that runs the use cases; unset, none gets a
 * variable, so no runtime has a tracer.
 */
import { afterEach, describe, expect, it } from "vitest"
import { evaluate, obj } from "./support/evaluate.js"
import type { Recorded } from "./support/sst-fakes.js"

const RUNTIMES = [
  "Api",
  "StartProcessing",
  "ProcessImageSmall",
  "ProcessImageMedium",
  "ProcessImageLarge",
  "Reconcile",
  "DeliverWebhook"
]

const environmentOf = (runtime: Recorded): Record<string, unknown> => ({ ...obj(runtime.args.environment ?? {}) })

const runtimesOf = async () => {
  const e = await evaluate("test")
  const all = [...e.recorder.ofKind("sst.aws.Function"), ...e.recorder.ofKind("sst.aws.Service")]
  return RUNTIMES.map((name) => {
    const found = all.find((r) => r.name === name)
    if (found === undefined) throw new Error(`no runtime ${name} among ${all.map((r) => r.name).join(", ")}`)
    return found
  })
}

describe("OpenTelemetry in AWS", () => {
  afterEach(() => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS
  })

  it("passes the deploy's OTLP endpoint and headers to the API and every function", async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = "https://otlp.example.com"
    process.env.OTEL_EXPORTER_OTLP_HEADERS = "x-api-key=abc"
    for (const runtime of await runtimesOf()) {
      const env = environmentOf(runtime)
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, runtime.name).toBe("https://otlp.example.com")
      expect(env.OTEL_EXPORTER_OTLP_HEADERS, runtime.name).toBe("x-api-key=abc")
    }
  })

  it("sets nothing when the deploy has no endpoint", async () => {
    for (const runtime of await runtimesOf()) {
      expect(Object.keys(environmentOf(runtime)).filter((k) => k.startsWith("OTEL_")), runtime.name).toEqual([])
    }
  })
})
