/**
 * Handlers of the `admin` group: parse → core use case (`usecases/admin.ts`) → map the result and the
 * errors.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api } from "../Api.js"
import { Unavailable } from "../errors.js"

const notYet = Effect.fail(new Unavailable({ message: "The admin API is not implemented yet." }))

export const AdminLive = HttpApiBuilder.group(Api, "admin", (handlers) =>
  handlers
    .handle("listImages", () => notYet)
    .handle("reprocess", () => notYet)
    .handle("queues", () => notYet)
    .handle("redrive", () => notYet))
