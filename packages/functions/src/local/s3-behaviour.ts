/**
 * What fauxqs's S3 lacks and imgpipe relies on, as Fastify `onRequest` hooks on its app, each before
 * S3 reads a body:
 *
 * - presigned URLs checked as S3 checks them (`presigned.ts`): 403 `SignatureDoesNotMatch` for a PUT
 *   of another content type or length than signed;
 * - conditional writes (`conditional-put.ts`): 412 `PreconditionFailed` for `If-None-Match: *` on an
 *   existing key, so an upload URL is good for one upload;
 * - object tagging (`object-tagging.ts`), which fauxqs would otherwise store as the object;
 * - private buckets, and the `Cache-Control` S3 keeps with each object (`cdn-origin.ts`): anonymous
 *   requests may only read the processed bucket's objects (CloudFront's reads in AWS), and a GET
 *   or HEAD returns the `Cache-Control` the object was written with.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify"
import { randomBytes } from "node:crypto"
import { isSigned, makeCacheControlStore, refusesAnonymous } from "./cdn-origin.js"
import { makeConditionalWrites } from "./conditional-put.js"
import { makeObjectTagging } from "./object-tagging.js"
import { checkPresigned, type Keys } from "./presigned.js"

const s3ErrorXml = (code: string, message: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${
    randomBytes(8).toString("hex").toUpperCase()
  }</RequestId></Error>`

/** The bucket, key and query of an S3 request on fauxqs's routes (`/:bucket/*`). */
export const s3Target = (request: FastifyRequest) => {
  const params = request.params as { readonly bucket?: string; readonly "*"?: string } | undefined
  return {
    bucket: params?.bucket,
    key: params?.["*"],
    query: request.query as Record<string, unknown> | undefined
  }
}

export interface S3BehaviourOptions {
  readonly verifyPresignedUrls: boolean
  readonly keys: Keys
  /** imgpipe's buckets, private as in AWS: anonymous requests are refused… */
  readonly privateBuckets?: ReadonlyArray<string>
  /** …except GET/HEAD of this bucket's objects (the processed bucket with `IMGPIPE_DELIVERY=cdn`). */
  readonly publicReadBucket?: string | undefined
}

/** Whether a request names a sub-resource or option (`?tagging`, `?uploadId=`, `?list-type=2`, …). */
const hasQuery = (query: Record<string, unknown> | undefined) => query !== undefined && Object.keys(query).length > 0

export const installS3Behaviour = (
  app: Pick<FastifyInstance, "addHook" | "inject">,
  options: S3BehaviourOptions
): void => {
  const verify = options.verifyPresignedUrls
  const privateBuckets = options.privateBuckets ?? []

  // S3's bucket policy and public access block: no credentials, no access (CloudFront's reads aside).
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (isSigned(request.headers, request.raw.url ?? "/")) return
    const { bucket, key, query } = s3Target(request)
    const refused = refusesAnonymous({
      method: request.method,
      bucket,
      key,
      hasQuery: hasQuery(query),
      privateBuckets,
      publicReadBucket: options.publicReadBucket
    })
    if (refused) {
      reply.code(403).header("content-type", "application/xml").header("connection", "close")
      return reply.send(s3ErrorXml("AccessDenied", "Access Denied"))
    }
  })

  // The Cache-Control S3 stores with an object and returns with it (fauxqs drops it).
  const cacheControl = makeCacheControlStore()
  app.addHook("onSend", async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const { bucket, key, query } = s3Target(request)
    if (bucket === undefined || key === undefined || key.length === 0) return payload
    const status = reply.statusCode
    if (
      request.method === "PUT" && status === 200 && query?.["tagging"] === undefined &&
      query?.["uploadId"] === undefined
    ) {
      cacheControl.written({ bucket, key, headers: request.headers })
    } else if (request.method === "DELETE" && status === 204) {
      cacheControl.deleted(bucket, key)
    } else if (
      (request.method === "GET" || request.method === "HEAD") && (status === 200 || status === 206 || status === 304)
    ) {
      const value = hasQuery(query) ? undefined : cacheControl.of(bucket, key)
      if (value !== undefined) reply.header("cache-control", value)
    }
    return payload
  })
  // Authentication happens before S3 reads a body; so does this check.
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (!verify) return
    const check = await checkPresigned({
      method: request.method,
      rawUrl: request.raw.url ?? "/",
      headers: request.headers,
      keys: options.keys,
      now: new Date()
    })
    if (check._tag === "Refused") {
      reply.code(403).header("content-type", "application/xml").header("connection", "close")
      return reply.send(s3ErrorXml(check.code, check.message))
    }
  })

  /** Whether the emulator holds the object: a HEAD through fauxqs's own routes. */
  const objectExists = async (bucket: string, key: string) => {
    const path = `/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`
    // The emulator's own request, credentialed as the SDK's are (buckets refuse anonymous HEADs).
    const head = await app.inject({ method: "HEAD", url: path, headers: { authorization: "imgpipe-emulator" } })
    return head.statusCode === 200
  }

  // S3's conditional write (If-None-Match: *), also before the body is read: one upload per URL.
  const conditionalWrites = makeConditionalWrites(objectExists)
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (reply.sent) return
    const check = await conditionalWrites.check({
      method: request.method,
      ...s3Target(request),
      headers: request.headers
    })
    if (check._tag === "Proceed") {
      // The write is in the store before its response ends, so the key stays claimed until then.
      reply.raw.once("close", check.release)
    } else if (check._tag === "Refused") {
      reply.code(412).header("content-type", "application/xml").header("connection", "close")
      return reply.send(s3ErrorXml(check.code, check.message))
    }
  })

  // Object tagging, which fauxqs lacks (it would store the tagging XML as the object).
  const tagging = makeObjectTagging(objectExists)
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (reply.sent) return
    const answer = await tagging.handle({
      method: request.method,
      ...s3Target(request),
      body: async () => {
        const chunks: Array<Buffer> = []
        for await (const chunk of request.raw) {
          chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
        }
        return Buffer.concat(chunks).toString("utf8")
      }
    })
    if (answer._tag === "Answer") {
      reply.code(answer.status).header("content-type", "application/xml")
      return reply.send(answer.body)
    }
  })
}
