/**
 * The imgpipe HTTP contract, assembled from its groups (each folder's `Api.ts` declares its
 * endpoints, schemas, errors and middleware), so the server (`Http.ts`), a typed `HttpApiClient`
 * and the OpenAPI document (`GET /openapi.json`, `GET /docs`) cannot drift apart. No implementation
 * lives here.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AdminGroup } from "./admin/Api.js"
import { DeliveryGroup } from "./delivery/Api.js"
import { ErrorBody } from "./errors.js"
import { EventsGroup } from "./events/Api.js"
import { ImagesGroup } from "./images/Api.js"
import { documentServerRoutes, withExampleValues, withoutFrameworkDecodeError } from "./openapi.js"
import { SystemGroup } from "./system/Api.js"

export class Api extends HttpApi.make("imgpipe")
  .add(ImagesGroup)
  .add(EventsGroup)
  .add(DeliveryGroup)
  .add(SystemGroup)
  .add(AdminGroup)
  // Any endpoint can meet a broken dependency or a bug.
  .addError(ErrorBody.InternalError)
  .addError(ErrorBody.Unavailable)
  .annotateContext(
    OpenApi.annotations({
      title: "imgpipe",
      version: "1.0.0",
      description: "Upload images through presigned URLs and get them back in three sizes (small, medium, large). " +
        "Errors are `{ \"error\": \"<code>\", \"message\": \"<text>\" }`.",
      // Relative: the document is served by the server it describes, whatever its public URL.
      servers: [{ url: "/", description: "This server" }],
      transform: (spec) => withExampleValues(documentServerRoutes(withoutFrameworkDecodeError(spec)))
    })
  )
{}
