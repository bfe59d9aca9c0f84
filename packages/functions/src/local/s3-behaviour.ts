/**
 * What fauxqs's S3 lacks and imgpipe relies on, as Fastify `onRequest` hooks on its app, each before
 * S3 reads a body:
 *
 * - presigned URLs checked as S3 checks them (`presigned.ts`): 403 `SignatureDoesNotMatch` for a PUT
 *   of another content type or length than signed;
 * - conditional writes (`conditional-put.ts`): 412 `PreconditionFailed` for `If-None-Match: *` on an
 *   existing key, so an upload URL is good for one upload;
 * - object tagging (`object-tagging.ts`), which fauxqs would otherwise store as the object.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify"
import { randomBytes } from "node:crypto"
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

export const installS3Behaviour = (
  app: Pick<FastifyInstance, "addHook" | "inject">,
  options: { readonly verifyPresignedUrls: boolean; readonly keys: Keys }
): void => {
  const verify = options.verifyPresignedUrls
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
    const head = await app.inject({ method: "HEAD", url: path })
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
