/**
 * The baseline of section 3: `POST /upload` and `GET /get_image` on a bare `node:http` handler that
 * does the same work as the imgpipe API (packages/api, the ECS service) and nothing else — the same
 * INSERT statement on the same PostgreSQL through a pool of the same size, the same S3 presigns with
 * the same SDK and options, UUIDv7 ids — and none of the framework: no schema decoding, no
 * middleware, no spans, no error mapping. Run as its own process (pinned to a core by the bench).
 *
 * Environment: PORT, DATABASE_URL, AWS_REGION, IMGPIPE_RAW_BUCKET, IMGPIPE_PROCESSED_BUCKET,
 * IMGPIPE_DB_POOL_SIZE (10), AWS keys (any value: presigning is local computation).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import pg from "pg"
import { v7 as uuidv7 } from "uuid"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const rawBucket = env("IMGPIPE_RAW_BUCKET")
const processedBucket = env("IMGPIPE_PROCESSED_BUCKET")
const pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: Number(env("IMGPIPE_DB_POOL_SIZE", "10")) })
const s3 = new S3Client({
  region: env("AWS_REGION"),
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED"
})

const ACCEPTED = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/tiff"])
const MAX_BYTES = 26_214_400
const UPLOAD_TTL = 900
const DOWNLOAD_TTL = 3600
const PINNED = new Set(["content-type", "content-length"])
const SIZES = ["small", "medium", "large"]

// The repository's create statement, verbatim (packages/core/src/sql/ImageRepositorySql.ts).
const INSERT = `
      WITH inserted AS (
        INSERT INTO images (id, declared_content_type, declared_bytes, upload_expires_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO NOTHING
        RETURNING *
      )
      SELECT * FROM inserted
      UNION ALL
      SELECT * FROM images WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((done, fail) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (text += chunk))
    req.on("end", () => done(text))
    req.on("error", fail)
  })

const upload = async (req: IncomingMessage, res: ServerResponse) => {
  const parsed: unknown = JSON.parse(await readBody(req))
  if (typeof parsed !== "object" || parsed === null || !("content_type" in parsed) || !("content_length" in parsed)) {
    return json(res, 400, { error: "bad_request", message: "content_type and content_length are required" })
  }
  const contentType = String(parsed.content_type).split(";")[0]?.trim().toLowerCase() ?? ""
  const contentLength = Number(parsed.content_length)
  if (!ACCEPTED.has(contentType)) return json(res, 415, { error: "unsupported_type", message: contentType })
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
    return json(res, 400, { error: "bad_request", message: "content_length" })
  }
  if (contentLength > MAX_BYTES) return json(res, 413, { error: "too_large", message: "too large" })
  const id = uuidv7()
  const expiresAt = new Date(Date.now() + UPLOAD_TTL * 1000)
  const url = await getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: rawBucket, Key: id, ContentType: contentType, ContentLength: contentLength }),
    { expiresIn: UPLOAD_TTL, signableHeaders: PINNED, unhoistableHeaders: PINNED }
  )
  await pool.query(INSERT, [id, contentType, contentLength, expiresAt])
  json(res, 201, {
    image_id: id,
    upload: { method: "PUT", url, headers: { "content-type": contentType } },
    expires_at: expiresAt.toISOString()
  })
}

interface RenditionRow {
  readonly size: string
  readonly status: string
  readonly key: string | null
}

const getImage = async (url: URL, res: ServerResponse) => {
  const id = url.searchParams.get("image_id") ?? ""
  const size = url.searchParams.get("image_size") ?? ""
  if (!/^[0-9a-f-]{36}$/i.test(id) || !SIZES.includes(size)) {
    return json(res, 400, { error: "bad_request", message: "bad parameters" })
  }
  // The same two reads as ImageRepository.find: the image, then its renditions.
  const image = await pool.query("SELECT * FROM images WHERE id = $1", [id])
  if (image.rowCount === 0) return json(res, 404, { error: "not_found", message: "No image has this id." })
  const renditions = await pool.query<RenditionRow>("SELECT * FROM renditions WHERE image_id = $1", [id])
  const ready = new Map(
    renditions.rows.filter((r) => r.status === "ready" && r.key !== null).map((r) => [r.size, r.key as string])
  )
  const served = ready.has(size) ? size : SIZES.find((s) => ready.has(s))
  if (served === undefined) return json(res, 404, { error: "not_found", message: "nothing stored" })
  const location = await getSignedUrl(s3, new GetObjectCommand({ Bucket: processedBucket, Key: ready.get(served) }), {
    expiresIn: DOWNLOAD_TTL
  })
  res.writeHead(302, {
    location,
    "x-image-size": served,
    "cache-control": served === size ? "public, max-age=300" : "no-store",
    vary: "Accept",
    "content-length": 0
  })
  res.end()
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost")
  const handled = req.method === "POST" && url.pathname === "/upload"
    ? upload(req, res)
    : req.method === "GET" && url.pathname === "/get_image"
    ? getImage(url, res)
    : req.method === "GET" && url.pathname === "/ready"
    ? pool.query("SELECT 1").then(() => json(res, 200, { status: "ok" }))
    : Promise.resolve(json(res, 404, { error: "not_found", message: "no route" }))
  handled.catch((error: unknown) => {
    if (!res.headersSent) json(res, 500, { error: "internal_error", message: String(error) })
  })
})

server.listen(Number(env("PORT")), "127.0.0.1")
const stop = () => server.close(() => void pool.end().then(() => process.exit(0)))
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
