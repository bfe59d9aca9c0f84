/**
 * Post-processing of the generated OpenAPI document (`OpenApi.Transform` on the API in `Api.ts` and
 * on operations, e.g. `delivery/Api.ts`): response headers, the real 400 body, the docs routes, and examples
 * where Swagger UI's "Try it out" takes its defaults.
 */

export const badRequestDescription =
  "The request is malformed: a missing or invalid parameter or body field, or a body that is not JSON."

//
// `OpenApi.Transform` hands us the generated document as a plain JSON record; these helpers edit
// it structurally (no casts), leaving anything they do not recognise untouched.

export type Json = Record<string, unknown>
export const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Adds documentation of response headers to an operation's responses, by status. */
export const withResponseHeaders = (operation: Json, headers: Readonly<Record<number, Json>>): Json => {
  const responses = operation["responses"]
  if (!isRecord(responses)) return operation
  const next: Json = { ...responses }
  for (const [status, docs] of Object.entries(headers)) {
    const response = next[status]
    if (isRecord(response)) next[status] = { ...response, headers: docs }
  }
  return { ...operation, responses: next }
}

const decodeErrorRef = "#/components/schemas/HttpApiDecodeError"
const isDecodeErrorRef = (u: unknown) => isRecord(u) && u["$ref"] === decodeErrorRef

/**
 * `HttpApi.make` declares the framework's `HttpApiDecodeError` (`{ _tag, issues, message }`) on
 * every endpoint, but the server maps that error to our `BadRequestError` body before it is sent
 * (see `errorMapping.ts`), so the document would describe a body no client ever sees. Drop it.
 */
export const withoutFrameworkDecodeError = (spec: Json): Json => {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (!isRecord(node)) return node
    const anyOf = node["anyOf"]
    if (Array.isArray(anyOf) && anyOf.some(isDecodeErrorRef)) {
      const rest = anyOf.filter((member) => !isDecodeErrorRef(member))
      if (rest.length === 1 && Object.keys(node).length === 1) return strip(rest[0])
      return strip({ ...node, anyOf: rest })
    }
    const out: Json = {}
    for (const [key, value] of Object.entries(node)) out[key] = strip(value)
    return out
  }
  const stripped = strip(spec)
  if (!isRecord(stripped)) return spec
  const components = stripped["components"]
  if (isRecord(components) && isRecord(components["schemas"])) {
    const { HttpApiDecodeError: _decodeError, Issue: _issue, PropertyKey: _propertyKey, ...schemas } =
      components["schemas"]
    stripped["components"] = { ...components, schemas }
  }
  const paths = stripped["paths"]
  if (isRecord(paths)) {
    for (const item of Object.values(paths)) {
      if (!isRecord(item)) continue
      for (const operation of Object.values(item)) {
        const responses = isRecord(operation) ? operation["responses"] : undefined
        const badRequest = isRecord(responses) ? responses["400"] : undefined
        if (!isRecord(responses) || !isRecord(badRequest)) continue
        const content = badRequest["content"]
        const json = isRecord(content) ? content["application/json"] : undefined
        if (isRecord(json) && isDecodeErrorRef(json["schema"])) {
          // Only the framework error was there: the endpoint takes no input, so no 400 can happen.
          delete responses["400"]
        } else {
          // The description came from the framework error; describe ours.
          badRequest["description"] = badRequestDescription
        }
      }
    }
  }
  return stripped
}

/**
 * Copies each schema's first example to where Swagger UI's "Try it out" takes its defaults from:
 * a parameter's `example` and a JSON request body's `example`. Without them the page sends
 * `"content_type": "string"` and empty ids, and every first try fails.
 */
export const withExampleValues = (spec: Json): Json => {
  const components = isRecord(spec["components"]) ? spec["components"] : {}
  const schemas = isRecord(components["schemas"]) ? components["schemas"] : {}
  const resolve = (schema: unknown): Json | undefined => {
    if (!isRecord(schema)) return undefined
    const ref = schema["$ref"]
    return typeof ref === "string" && ref.startsWith("#/components/schemas/")
      ? resolve(schemas[ref.slice("#/components/schemas/".length)])
      : schema
  }
  const firstExample = (schema: unknown): { readonly value: unknown } | undefined => {
    const examples = resolve(schema)?.["examples"]
    return Array.isArray(examples) && examples.length > 0 ? { value: examples[0] } : undefined
  }
  const paths = isRecord(spec["paths"]) ? spec["paths"] : {}
  for (const item of Object.values(paths)) {
    if (!isRecord(item)) continue
    for (const operation of Object.values(item)) {
      if (!isRecord(operation)) continue
      const parameters = Array.isArray(operation["parameters"]) ? operation["parameters"] : []
      for (const parameter of parameters) {
        const example = isRecord(parameter) ? firstExample(parameter["schema"]) : undefined
        if (isRecord(parameter) && example !== undefined) parameter["example"] = example.value
      }
      const body = isRecord(operation["requestBody"]) ? operation["requestBody"]["content"] : undefined
      const json = isRecord(body) ? body["application/json"] : undefined
      const example = isRecord(json) ? firstExample(json["schema"]) : undefined
      if (isRecord(json) && example !== undefined) json["example"] = example.value
    }
  }
  return spec
}

/** The document and docs page are served next to the API; list them so every path is documented. */
export const documentServerRoutes = (spec: Json): Json => {
  const paths = isRecord(spec["paths"]) ? spec["paths"] : {}
  const tags = Array.isArray(spec["tags"]) ? spec["tags"] : []
  return {
    ...spec,
    tags: [...tags, { name: "docs", description: "This document and its browsable page." }],
    paths: {
      ...paths,
      "/openapi.json": {
        get: {
          tags: ["docs"],
          operationId: "docs.openapi",
          summary: "This OpenAPI document",
          parameters: [],
          security: [],
          responses: { 200: { description: "The OpenAPI 3.1 document.", content: { "application/json": {} } } }
        }
      },
      "/docs": {
        get: {
          tags: ["docs"],
          operationId: "docs.page",
          summary: "Browsable API documentation (Swagger UI, served without any CDN)",
          parameters: [],
          security: [],
          responses: { 200: { description: "An HTML page.", content: { "text/html": {} } } }
        }
      }
    }
  }
}
