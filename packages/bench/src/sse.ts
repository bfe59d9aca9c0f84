/**
 * The cost of open server-sent event streams on the embedded runner (`GET /images/{id}/events`,
 * one change feed per process): `streams` clients each watching its own image (all
 * `awaiting_upload`, so nothing changes and only the feed's poll and the heartbeats run), measured
 * as the runner's CPU seconds and RSS over an idle window against the same window with no stream
 * open; then `streams` clients on one image, and the time from its upload's PUT answer until the
 * change (`processing`) reached every one of them.
 */
import { changeFeedIntervalConfig } from "@imgpipe/core/sql/ChangeFeedSql"
import { Duration, Effect } from "effect"
import { readFileSync } from "node:fs"
import { request } from "node:http"
import { withEmbeddedRunner } from "./runner.js"
import { cpuSeconds, progress, sleep } from "./util.js"

export interface SseSection {
  readonly streams: number
  readonly windowSeconds: number
  /** Runner CPU seconds per second of the window, without streams and with them. */
  readonly idleCpu: number
  readonly streamsCpu: number
  /** Runner RSS (MiB) with no stream open, and its growth with the streams open. */
  readonly idleRssMiB: number
  readonly rssGrowthMiB: number
  /** Seconds to open all the streams (each: its first event received). */
  readonly openSeconds: number
  /** Milliseconds from the PUT's answer until every stream had the change (`processing`, or `ready` if it came first). */
  readonly fanOutMs: number
  /** The same, until the first stream had it. */
  readonly firstMs: number
  /** The feed's poll interval the runner ran with. */
  readonly pollIntervalMs: number
}

const rssMiB = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1]) / 1024
}

interface Ticket {
  readonly image_id: string
  readonly upload: { readonly url: string; readonly headers: Record<string, string> }
}

const createImage = async (baseUrl: string, bytes: number): Promise<Ticket> => {
  const answer = await fetch(`${baseUrl}/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content_type: "image/jpeg", content_length: bytes })
  })
  if (answer.status !== 201) throw new Error(`/upload answered ${answer.status}`)
  return (await answer.json()) as Ticket
}

/** One open stream over plain node:http (no per-stream fetch machinery), noting when `status` events arrive. */
interface OpenStream {
  readonly events: () => number
  readonly firstStatusAt: (status: string) => number | undefined
  readonly close: () => void
}

const openStream = (baseUrl: string, id: string): Promise<OpenStream> =>
  new Promise((opened, failed) => {
    const seen = new Map<string, number>()
    let events = 0
    let buffer = ""
    const req = request(`${baseUrl}/images/${id}/events`, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        failed(new Error(`events answered ${res.statusCode}`))
        return
      }
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        let cut = buffer.indexOf("\n\n")
        while (cut !== -1) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          cut = buffer.indexOf("\n\n")
          const data = block.split("\n").find((line) => line.startsWith("data: "))
          if (data === undefined) continue
          events++
          const status = /"status":"(\w+)"/.exec(data)?.[1]
          if (status !== undefined && !seen.has(status)) seen.set(status, performance.now())
          if (events === 1) {
            opened({
              events: () => events,
              firstStatusAt: (s) => seen.get(s),
              close: () => req.destroy()
            })
          }
        }
      })
      res.on("error", () => {})
    })
    req.on("error", (error) => (events === 0 ? failed(error) : undefined))
    req.end()
  })

const openAll = async (baseUrl: string, ids: ReadonlyArray<string>): Promise<Array<OpenStream>> => {
  const streams: Array<OpenStream> = []
  // 50 at a time: a thousand at once would measure the accept queue, not the streams.
  for (let i = 0; i < ids.length; i += 50) {
    streams.push(...(await Promise.all(ids.slice(i, i + 50).map((id) => openStream(baseUrl, id)))))
  }
  return streams
}

const measureWindow = async (pid: number | undefined, seconds: number) => {
  const cpu0 = cpuSeconds(pid) ?? Number.NaN
  await sleep(seconds * 1000)
  return { cpu: ((cpuSeconds(pid) ?? Number.NaN) - cpu0) / seconds, rss: rssMiB(pid) }
}

export const runSseSection = async (
  options: { readonly streams: number; readonly windowSeconds: number }
): Promise<SseSection> =>
  withEmbeddedRunner({ tempPrefix: "imgpipe-bench-sse-", databaseUrl: "" }, async ({ baseUrl, child }) => {
    const pid = child.process.pid
    // The runner inherits this environment: report the interval it polls at (default 250 ms).
    const pollIntervalMs = Duration.toMillis(Effect.runSync(changeFeedIntervalConfig))
    progress(`sse: creating ${options.streams} images`)
    const tickets: Array<Ticket> = []
    for (let i = 0; i < options.streams; i += 50) {
      tickets.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, options.streams - i) }, () => createImage(baseUrl, 1000))
        ))
      )
    }
    await sleep(1000)
    const idle = await measureWindow(pid, options.windowSeconds)

    progress(`sse: opening ${options.streams} streams, one per image`)
    const started = performance.now()
    const streams = await openAll(baseUrl, tickets.map((t) => t.image_id))
    const openSeconds = (performance.now() - started) / 1000
    await sleep(1000)
    const open = await measureWindow(pid, options.windowSeconds)
    for (const stream of streams) stream.close()
    await sleep(1000)

    progress(`sse: ${options.streams} streams on one image, then its upload`)
    const photo = new Uint8Array(
      readFileSync(new URL("../../core/test/fixtures/images/photo-1024x772.webp", import.meta.url))
    )
    const answer = await fetch(`${baseUrl}/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content_type: "image/webp", content_length: photo.byteLength })
    })
    const target = (await answer.json()) as Ticket
    const watchers = await openAll(baseUrl, Array.from({ length: options.streams }, () => target.image_id))
    const put = await fetch(target.upload.url, { method: "PUT", headers: target.upload.headers, body: photo })
    const putAt = performance.now()
    if (!put.ok) throw new Error(`PUT answered ${put.status}`)
    const deadline = Date.now() + 30_000
    while (
      watchers.some((w) => w.firstStatusAt("processing") === undefined && w.firstStatusAt("ready") === undefined)
    ) {
      if (Date.now() > deadline) {
        const missing = watchers.filter((w) =>
          w.firstStatusAt("processing") === undefined && w.firstStatusAt("ready") === undefined
        )
        const status = await fetch(`${baseUrl}/images/${target.image_id}`).then((r) =>
          r.json() as Promise<{ status: string }>
        )
        throw new Error(
          `the change did not reach every stream in 30 s: ${missing.length} of ${watchers.length} without it, the image is ${status.status}`
        )
      }
      await sleep(5)
    }
    const reached = watchers.map((w) => (w.firstStatusAt("processing") ?? w.firstStatusAt("ready")!) - putAt)
    for (const watcher of watchers) watcher.close()

    return {
      streams: options.streams,
      windowSeconds: options.windowSeconds,
      idleCpu: idle.cpu,
      streamsCpu: open.cpu,
      idleRssMiB: idle.rss,
      rssGrowthMiB: open.rss - idle.rss,
      openSeconds,
      fanOutMs: Math.max(...reached),
      firstMs: Math.min(...reached),
      pollIntervalMs
    }
  })

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "?")

/** Rows of the printed summary. */
export const sseSummary = (s: SseSection): ReadonlyArray<{ readonly what: string; readonly result: string }> => [
  {
    what: `${s.streams} open streams, idle`,
    result: `CPU ${fmt(s.streamsCpu, 3)} s/s (${fmt(s.idleCpu, 3)} without) · RSS ${fmt(s.rssGrowthMiB, 0)} MiB`
  },
  {
    what: `a change to ${s.streams} streams`,
    result: `first after ${fmt(s.firstMs, 0)} ms, all within +${
      fmt(s.fanOutMs - s.firstMs, 0)
    } ms (feed every ${s.pollIntervalMs} ms)`
  }
]

export const sseMarkdown = (s: SseSection): string =>
  [
    `The embedded runner (PGlite), ${s.streams} clients each on \`GET /images/{id}/events\` of its own image (all`,
    "`awaiting_upload`: only the change feed's poll and the heartbeats run), against the same runner with no stream",
    `open, each over ${s.windowSeconds} s; then ${s.streams} clients on one image and the time from its upload's PUT answer`,
    "until the change (`processing`) reached them. One change feed per process: one poll query per tick, whatever",
    "the number of streams.",
    "",
    "| measure | value |",
    "| --- | --- |",
    `| runner CPU, no stream open | ${fmt(s.idleCpu, 3)} s per s |`,
    `| runner CPU, ${s.streams} streams open | ${fmt(s.streamsCpu, 3)} s per s |`,
    `| runner RSS, no stream open | ${fmt(s.idleRssMiB, 0)} MiB |`,
    `| RSS growth with ${s.streams} streams (one sample each; PGlite's and the heap's own swings are ±100 MiB) | ${
      fmt(s.rssGrowthMiB, 1)
    } MiB |`,
    `| time to open ${s.streams} streams (first event each) | ${fmt(s.openSeconds, 1)} s |`,
    `| a change reaching all ${s.streams} streams of one image | ${fmt(s.fanOutMs, 0)} ms (first: ${
      fmt(s.firstMs, 0)
    } ms) |`,
    `| change feed interval | ${s.pollIntervalMs} ms |`
  ].join("\n")
