/**
 * The `system` group: liveness and readiness, for the load balancer's probes.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
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
  .annotateContext(OpenApi.annotations({ title: "system", description: "Health checks." }))
{}
