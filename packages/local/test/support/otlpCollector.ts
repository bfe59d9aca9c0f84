/**
 * A real OTLP/HTTP receiver for the trace tests: keeps the spans of every JSON export POSTed to
 * `/v1/traces`, each with its resource's `service.name`.
 */
import { Effect } from "effect"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes?: ReadonlyArray<{ key: string; value: { stringValue?: string } }>
}

/** A real OTLP/HTTP receiver: keeps the spans of every JSON export POSTed to /v1/traces. */
export const startCollector = () =>
  Effect.acquireRelease(
    Effect.async<{ server: Server; url: string; spans: Array<OtlpSpan & { service: string }> }>((resume) => {
      const spans: Array<OtlpSpan & { service: string }> = []
      const server = createServer((request: IncomingMessage, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          if (request.url === "/v1/traces" && request.method === "POST") {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              resourceSpans: Array<{
                resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
                scopeSpans: Array<{ spans: Array<OtlpSpan> }>
              }>
            }
            for (const resourceSpans of body.resourceSpans) {
              const service = resourceSpans.resource.attributes.find((a) => a.key === "service.name")?.value
                .stringValue ?? ""
              for (const scope of resourceSpans.scopeSpans) {
                for (const span of scope.spans) spans.push({ ...span, service })
              }
            }
          }
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() =>
          resume(Effect.void)
        )
      })
  )
