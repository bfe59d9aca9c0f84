/**
 * The `system` group: liveness and readiness, for the load balancer's probes, and the Prometheus
 * metrics for a scraper.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { PROMETHEUS_CONTENT_TYPE } from "@imgpipe/core/observability/prometheus"
import { Schema } from "effect"
import { MetricsAuthorization } from "../admin/Api.js"
import { ErrorBody } from "../errors.js"

export const HealthBody = Schema.Struct({ status: Schema.Literal("ok") }).annotations({ identifier: "HealthStatus" })

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(HealthBody)
      .annotateContext(OpenApi.annotations({ summary: "Liveness", description: "200 while the process serves HTTP." }))
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(HealthBody)
      .addError(ErrorBody.NotReady)
      .annotateContext(
        OpenApi.annotations({
          summary: "Readiness",
          description: "200 when the database answers and the process can open files, 503 otherwise."
        })
      )
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(
        HttpApiSchema.Text({ contentType: PROMETHEUS_CONTENT_TYPE }).annotations({
          description: "Prometheus text exposition format 0.0.4; every metric is named imgpipe_*."
        })
      )
      .middleware(MetricsAuthorization)
      .annotateContext(
        OpenApi.annotations({
          summary: "Metrics (Prometheus)",
          description: "Requests by route and status (count and latency), uploads, renditions by size and outcome, " +
            "resize duration, queue depth, in-flight and oldest age per queue, dead-letter depth, webhook " +
            "deliveries by outcome, as Prometheus text (`text/plain; version=0.0.4`). Needs an admin key " +
            "(Authorization: Bearer) when IMGPIPE_ADMIN_KEYS is set; open otherwise."
        })
      )
  )
  .annotateContext(OpenApi.annotations({ title: "system", description: "Health checks and metrics." }))
{}
