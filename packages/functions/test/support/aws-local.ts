/**
 * `bun run start:aws-local` in a child process, as a person runs it (the emulator, the exported
 * Lambda handlers, the ECS API entry), on free ports, with a fresh database on the
 * TEST_DATABASE_URL server when one is given (PGlite otherwise). Waits for the API's /health.
 */
import { freePort } from "@imgpipe/core/util/net"
import { makeTestDatabase } from "@imgpipe/local/test/support/runner"
import { type ChildProcess, spawn } from "node:child_process"
import { resolve } from "node:path"

export const root = resolve(import.meta.dirname, "../../../..")

/** `attempt` until it answers something other than undefined, every 200 ms for `seconds`. */
export const poll = async <A>(what: string, seconds: number, attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await attempt().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export interface AwsLocal {
  readonly child: ChildProcess
  /** The API's base URL. */
  readonly api: string
  /** Everything the process printed so far (for failure messages and log assertions). */
  readonly output: () => string
  /** `poll`, with the process's output in the error when it times out. */
  readonly poll: typeof poll
  /** SIGTERM (SIGKILL after 15 s), then the database dropped. */
  readonly stop: () => Promise<void>
}

export const startAwsLocal = async (env: Readonly<Record<string, string>> = {}): Promise<AwsLocal> => {
  const [apiPort, awsPort] = [await freePort(), await freePort()]
  const database = await makeTestDatabase()
  const api = `http://127.0.0.1:${apiPort}`
  const child = spawn(process.execPath, ["--import", "tsx", "packages/functions/src/local/aws-local.ts"], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(apiPort),
      FAUXQS_PORT: String(awsPort),
      IMGPIPE_SQS_WAIT_SECONDS: "1",
      IMGPIPE_LOG_LEVEL: "Warn",
      DATABASE_URL: database?.url ?? "",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const withOutput: typeof poll = (what, seconds, attempt) =>
    poll(what, seconds, attempt).catch((error) => {
      throw new Error(`${String(error)}\n${output}`)
    })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once("exit", done))
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
    await database?.drop()
  }
  try {
    await withOutput("the API's /health", 120, async () => ((await fetch(`${api}/health`)).ok ? true : undefined))
  } catch (error) {
    await stop()
    throw error
  }
  return { child, api, output: () => output, poll: withOutput, stop }
}

/**
 * `POST /upload` for `photo` as a JPEG (with `extra` body fields, e.g. a `callback_url`), then the
 * PUT to the returned URL with its headers; the image id. Fails on any other answer than 201 / 200.
 */
export const uploadJpeg = async (
  api: string,
  photo: Uint8Array,
  extra: Readonly<Record<string, unknown>> = {}
): Promise<string> => {
  const response = await fetch(`${api}/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content_type: "image/jpeg", content_length: photo.byteLength, ...extra })
  })
  if (response.status !== 201) throw new Error(`POST /upload answered ${response.status}: ${await response.text()}`)
  const ticket = (await response.json()) as {
    image_id: string
    upload: { url: string; headers: Record<string, string> }
  }
  const put = await fetch(ticket.upload.url, { method: "PUT", headers: ticket.upload.headers, body: photo })
  if (put.status !== 200) throw new Error(`the upload PUT answered ${put.status}: ${await put.text()}`)
  return ticket.image_id
}
