/**
 * The embedded runner as `bun run start` starts it (a child process on a temporary data folder,
 * with the start script's environment), and one client upload against it: what the pipeline
 * section and the soak share.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import {
  type Child,
  contentTypeOf,
  fixturesDir,
  freePort,
  removeDir,
  startChild,
  startScriptEnv,
  tempDir,
  tsxNode,
  waitReady
} from "./util.js"

export interface EmbeddedRunner {
  readonly baseUrl: string
  readonly dataDir: string
  readonly child: Child
}

export interface RunnerOptions {
  /** Prefix of the temporary data folder. */
  readonly tempPrefix: string
  /** "" for the embedded PGlite (`bun run start`'s default), or a PostgreSQL server's URL. */
  readonly databaseUrl: string
}

/**
 * Starts the runner on a free port with log level WARN (at these rates the request log would only
 * add the cost of formatting and piping it), waits until it is ready, runs `use`, then stops it
 * and removes its data folder.
 */
export const withEmbeddedRunner = async <A>(
  options: RunnerOptions,
  use: (runner: EmbeddedRunner) => Promise<A>
): Promise<A> => {
  const port = await freePort()
  const dataDir = tempDir(options.tempPrefix)
  const baseUrl = `http://127.0.0.1:${port}`
  const [command, args] = tsxNode("packages/local/src/main.ts")
  const child = startChild(command, args, {
    ...startScriptEnv(),
    PORT: String(port),
    IMGPIPE_PUBLIC_URL: baseUrl,
    IMGPIPE_DATA_DIR: dataDir,
    IMGPIPE_LOG_LEVEL: "WARN",
    DATABASE_URL: options.databaseUrl
  })
  try {
    await waitReady(`${baseUrl}/ready`, child)
    return await use({ baseUrl, dataDir, child })
  } finally {
    await child.stop()
    removeDir(dataDir)
  }
}

export interface Photo {
  readonly name: string
  readonly bytes: Uint8Array
  readonly contentType: string
}

/** A fixture photo's bytes and content type. */
export const loadPhoto = (name: string): Photo => ({
  name,
  bytes: new Uint8Array(readFileSync(join(fixturesDir, name))),
  contentType: contentTypeOf(name)
})

interface Ticket {
  readonly image_id: string
  readonly upload: { readonly method: string; readonly url: string; readonly headers: Record<string, string> }
}

const isTicket = (value: unknown): value is Ticket =>
  typeof value === "object" && value !== null && "image_id" in value && "upload" in value

export type UploadOutcome =
  | { readonly _tag: "Uploaded"; readonly imageId: string }
  /** `/upload` did not answer 201 with a ticket, or the PUT was refused. */
  | { readonly _tag: "Refused"; readonly step: "upload" | "put"; readonly status: number }

/** POST /upload, then the PUT; resolves when the PUT has been answered (upload complete). */
export const uploadPhoto = async (baseUrl: string, photo: Photo): Promise<UploadOutcome> => {
  const res = await fetch(`${baseUrl}/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content_type: photo.contentType, content_length: photo.bytes.byteLength })
  })
  const ticket: unknown = await res.json()
  if (res.status !== 201 || !isTicket(ticket)) return { _tag: "Refused", step: "upload", status: res.status }
  const put = await fetch(ticket.upload.url, {
    method: ticket.upload.method,
    headers: ticket.upload.headers,
    body: photo.bytes
  })
  await put.arrayBuffer()
  if (!put.ok) return { _tag: "Refused", step: "put", status: put.status }
  return { _tag: "Uploaded", imageId: ticket.image_id }
}
