/**
 * `bun run bench:soak`: the embedded runner under a steady mixed load for a long time, watching
 * what a leak would grow. Started as `bun run start` starts it (a child process, PGlite, a fresh
 * data folder), it is offered BENCH_SOAK_RATE uploads per second (default 5) for
 * BENCH_SOAK_SECONDS (default 600), and twice as many downloads of what was uploaded: full GETs
 * through `get_image`'s redirect, conditional GETs answered 304, HEADs, downloads the client
 * aborts after the first chunk, and forged signed URLs. Every 5 s it samples the runner's open
 * file descriptors (/proc/<pid>/fd) and resident memory (VmRSS). At the end it waits for the
 * uploads to settle and writes docs/soak.md: the samples, and whether descriptors and memory
 * stayed flat after the warm-up. BENCH_SOAK_DATABASE_URL runs it on a PostgreSQL server instead of
 * the embedded PGlite (whose WebAssembly heap lives in the runner's RSS), into docs/soak-postgres.md.
 *
 * Not part of `bun run bench` (it takes ten minutes on purpose), and not a test.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import {
  contentTypeOf,
  cpuSeconds,
  fixturesDir,
  fmt,
  freePort,
  progress,
  removeDir,
  repoRoot,
  sleep,
  startChild,
  tempDir,
  startScriptEnv,
  tsxNode,
  waitReady
} from "./util.js"

const SIZES = ["small", "medium", "large"] as const

/**
 * Mostly the cheap photos, so that processing keeps up on two cores and the run measures a steady
 * state rather than a growing backlog; a refused file and a larger photo now and then exercise the
 * rejection and the slower paths too.
 */
const SOAK_MIX: ReadonlyArray<readonly [string, number]> = [
  ["photo-1280x1024-grass-progressive.jpg", 30],
  ["photo-1024x772.webp", 25],
  ["photo-246x345.tiff", 20],
  ["exif-orientation-6.jpg", 10],
  ["alpha-2048x1536-rgba.png", 5],
  ["not-an-image-text.jpg", 5],
  ["truncated.jpg", 5]
]

interface Sample {
  readonly second: number
  readonly fds: number
  readonly rssMiB: number
  readonly cpuSeconds: number
  readonly uploads: number
  readonly downloads: number
  readonly errors: number
}

const numberEnv = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
  return value
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

const rssMiB = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1]) / 1024
}

/** Least-squares slope of y over x. */
const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

interface Stored {
  readonly id: string
  readonly etags: Map<string, string>
}

const main = async () => {
  const rate = numberEnv("BENCH_SOAK_RATE", 5)
  const seconds = numberEnv("BENCH_SOAK_SECONDS", 600)
  const downloadRate = rate * 2
  const port = await freePort()
  const dataDir = tempDir("imgpipe-soak-")
  const baseUrl = `http://127.0.0.1:${port}`
  const [command, args] = tsxNode("packages/local/src/main.ts")
  const runner = startChild(command, args, {
    ...startScriptEnv(),
    PORT: String(port),
    IMGPIPE_PUBLIC_URL: baseUrl,
    IMGPIPE_DATA_DIR: dataDir,
    IMGPIPE_LOG_LEVEL: "WARN",
    // PGlite unless a PostgreSQL server is named, to tell the database's memory from the runner's.
    DATABASE_URL: process.env.BENCH_SOAK_DATABASE_URL ?? ""
  })
  const photos = SOAK_MIX.map(([name, weight]) => ({
    name,
    weight,
    bytes: new Uint8Array(readFileSync(join(fixturesDir, name))),
    contentType: contentTypeOf(name)
  }))
  const totalWeight = photos.reduce((s, p) => s + p.weight, 0)
  let pick = 0
  /** Deterministic weighted choice: the i-th upload takes the photo at i × golden ratio of the weights. */
  const nextPhoto = () => {
    let point = ((pick++ * 0.6180339887) % 1) * totalWeight
    for (const photo of photos) {
      point -= photo.weight
      if (point < 0) return photo
    }
    return photos[0] as (typeof photos)[number]
  }

  const stored: Array<Stored> = []
  const counts = { uploads: 0, downloads: 0, errors: 0, notModified: 0, heads: 0, aborted: 0, forged: 0 }
  const errorKinds = new Map<string, number>()
  const fail = (kind: string) => {
    counts.errors++
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
  }

  const upload = async () => {
    const photo = nextPhoto()
    try {
      const res = await fetch(`${baseUrl}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content_type: photo.contentType, content_length: photo.bytes.byteLength })
      })
      const ticket = (await res.json()) as { image_id?: string; upload?: { url: string; method: string; headers: Record<string, string> } }
      if (res.status !== 201 || ticket.upload === undefined || ticket.image_id === undefined) return fail(`upload ${res.status}`)
      const put = await fetch(ticket.upload.url, { method: ticket.upload.method, headers: ticket.upload.headers, body: photo.bytes })
      await put.arrayBuffer()
      if (!put.ok) return fail(`put ${put.status}`)
      counts.uploads++
      stored.push({ id: ticket.image_id, etags: new Map() })
    } catch (error) {
      fail(`upload ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** One download of a random stored image, in one of five ways. */
  const download = async (n: number) => {
    const image = stored[Math.floor(Math.random() * stored.length)]
    if (image === undefined) return
    const size = SIZES[n % 3] as (typeof SIZES)[number]
    const kind = n % 10
    try {
      const redirect = await fetch(`${baseUrl}/get_image?image_id=${image.id}&image_size=${size}`, { redirect: "manual" })
      await redirect.arrayBuffer()
      // Refused images answer 422; not yet uploaded 404: both are fine answers, nothing to follow.
      if (redirect.status === 422 || redirect.status === 404) return void counts.downloads++
      const location = redirect.headers.get("location")
      if (redirect.status !== 302 || location === null) return fail(`get_image ${redirect.status}`)
      const served = redirect.headers.get("x-image-size") ?? "?"
      if (kind < 5) {
        const res = await fetch(location)
        await res.arrayBuffer()
        if (!res.ok) return fail(`GET ${res.status}`)
        const etag = res.headers.get("etag")
        if (etag !== null) image.etags.set(served, etag)
      } else if (kind < 7) {
        const etag = image.etags.get(served)
        const res = await fetch(location, etag === undefined ? {} : { headers: { "if-none-match": etag } })
        await res.arrayBuffer()
        if (res.status === 304) counts.notModified++
        else if (!res.ok) return fail(`conditional GET ${res.status}`)
      } else if (kind < 8) {
        const res = await fetch(location, { method: "HEAD" })
        await res.arrayBuffer()
        if (!res.ok) return fail(`HEAD ${res.status}`)
        counts.heads++
      } else if (kind < 9) {
        const controller = new AbortController()
        const res = await fetch(location, { signal: controller.signal })
        const reader = res.body?.getReader()
        await reader?.read()
        controller.abort()
        counts.aborted++
      } else {
        const forged = location.replace(/sig=[0-9a-f]{4}/, "sig=0000")
        const res = await fetch(forged)
        await res.arrayBuffer()
        if (res.status !== 403) return fail(`forged URL ${res.status}`)
        counts.forged++
      }
      counts.downloads++
    } catch (error) {
      if (error instanceof Error && error.name === "AbortError") return void counts.downloads++
      fail(`download ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  const samples: Array<Sample> = []
  try {
    await waitReady(`${baseUrl}/ready`, runner)
    const pid = runner.process.pid
    if (pid === undefined) throw new Error("the runner has no pid")
    progress(`soak: runner up on ${baseUrl}; ${rate} uploads/s and ${downloadRate} downloads/s for ${seconds} s`)
    const start = performance.now()
    const sample = () => {
      const s: Sample = {
        second: Math.round((performance.now() - start) / 1000),
        fds: openFds(pid),
        rssMiB: rssMiB(pid),
        cpuSeconds: cpuSeconds(pid) ?? Number.NaN,
        uploads: counts.uploads,
        downloads: counts.downloads,
        errors: counts.errors
      }
      samples.push(s)
      return s
    }
    sample()
    const sampler = setInterval(() => {
      const s = sample()
      if (s.second % 30 === 0) {
        progress(`soak: ${s.second} s: ${s.uploads} uploads, ${s.downloads} downloads, ${s.errors} errors; fds ${s.fds}, RSS ${fmt(s.rssMiB)} MiB`)
      }
    }, 5000)
    const inFlight = new Set<Promise<void>>()
    const launch = (work: Promise<void>) => {
      inFlight.add(work)
      void work.finally(() => inFlight.delete(work))
    }
    const tick = 1000 / (rate + downloadRate)
    let n = 0
    while (performance.now() - start < seconds * 1000) {
      const due = start + n * tick
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      // Of every three operations (at the default 1:2), one upload and two downloads.
      if (n % Math.round((rate + downloadRate) / rate) === 0) launch(upload())
      else launch(download(n))
      n++
    }
    await Promise.all(inFlight)
    clearInterval(sampler)
    sample()

    progress(`soak: offered load done; waiting for the uploads to settle`)
    const settleDeadline = Date.now() + 180_000
    const outcome = { ready: 0, failed: 0, unfinished: 0 }
    for (const image of stored) {
      for (;;) {
        const res = await fetch(`${baseUrl}/images/${image.id}`)
        const status = ((await res.json()) as { status?: string }).status
        if (status === "ready" || status === "failed") {
          outcome[status]++
          break
        }
        if (Date.now() > settleDeadline) {
          outcome.unfinished++
          break
        }
        await sleep(500)
      }
    }
    await sleep(2000)
    const idle = sample()
    writeReport({
      rate,
      downloadRate,
      seconds,
      samples,
      counts,
      errorKinds,
      outcome,
      idle,
      database: process.env.BENCH_SOAK_DATABASE_URL ? "a PostgreSQL server" : "PGlite",
      report: process.env.BENCH_SOAK_DATABASE_URL ? "docs/soak-postgres.md" : "docs/soak.md"
    })
  } finally {
    await runner.stop()
    removeDir(dataDir)
  }
}

interface ReportInput {
  readonly rate: number
  readonly downloadRate: number
  readonly seconds: number
  readonly samples: ReadonlyArray<Sample>
  readonly counts: Readonly<Record<string, number>>
  readonly errorKinds: ReadonlyMap<string, number>
  readonly outcome: { readonly ready: number; readonly failed: number; readonly unfinished: number }
  readonly idle: Sample
  readonly database: string
  /** docs/soak.md on PGlite, docs/soak-postgres.md on a server. */
  readonly report: string
}

/** After the first minute (warm-up: JIT, pools, libvips caches), the steady part of the run. */
const WARMUP_SECONDS = 60

const writeReport = (input: ReportInput) => {
  const { samples, counts, outcome } = input
  const steady = samples.filter((s) => s.second >= WARMUP_SECONDS && s.second <= input.seconds)
  const fds = steady.map((s) => s.fds)
  const rss = steady.map((s) => s.rssMiB)
  const fdSpread = fds.length === 0 ? Number.NaN : Math.max(...fds) - Math.min(...fds)
  const rssSlopePerMinute = slope(steady.map((s) => [s.second / 60, s.rssMiB] as const))
  const fdSlopePerMinute = slope(steady.map((s) => [s.second / 60, s.fds] as const))
  // Memory may climb for a while as caches fill (the database's, libvips', the allocator's arenas)
  // and then level off; a leak keeps climbing. So the verdict is the trend over the second half.
  const late = steady.filter((s) => s.second >= input.seconds / 2)
  const lateRssSlopePerMinute = slope(late.map((s) => [s.second / 60, s.rssMiB] as const))
  // Flat: descriptors vary by a handful (sockets come and go) without a trend, and memory grows by
  // less than 2 MiB a minute after the warm-up or over the second half (a leak grows throughout, so
  // both trends would be steep; a plateau has a flat second half; a short noisy second half is
  // caught by the whole trend). A leak of one buffer per request would be far steeper at this rate.
  const fdsFlat = Math.abs(fdSlopePerMinute) < 1 && fdSpread <= 40
  const rssFlat = Math.min(rssSlopePerMinute, lateRssSlopePerMinute) < 2
  const first = samples[0]
  const last = samples.find((s) => s.second >= input.seconds) ?? samples[samples.length - 1]
  const lines: Array<string> = []
  lines.push("# Soak: the embedded runner under steady load")
  lines.push("")
  lines.push(`Generated by \`bun run bench:soak\` on ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}, ` +
    `${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(" / ")} at the end.`)
  lines.push("")
  lines.push(`Offered: ${input.rate} uploads/s and ${input.downloadRate} downloads/s for ${input.seconds} s against ` +
    `\`bun run start\` defaults (${input.database}, one worker per size queue, log level WARN). Downloads go through ` +
    "`get_image`'s redirect: half full GETs, a fifth conditional GETs (304 once an ETag is known), a tenth " +
    "HEADs, a tenth aborted after the first chunk, a tenth forged signatures (403).")
  lines.push("")
  lines.push("| | result |")
  lines.push("| --- | --- |")
  lines.push(`| uploads answered | ${counts.uploads} |`)
  lines.push(`| downloads answered | ${counts.downloads} (304: ${counts.notModified}, HEAD: ${counts.heads}, aborted: ${counts.aborted}, forged → 403: ${counts.forged}) |`)
  lines.push(`| errors | ${counts.errors}${input.errorKinds.size === 0 ? "" : ` (${[...input.errorKinds].map(([k, v]) => `${k}: ${v}`).join(", ")})`} |`)
  lines.push(`| settled afterwards | ${outcome.ready} ready, ${outcome.failed} failed (refused content), ${outcome.unfinished} unfinished after 3 min |`)
  lines.push(`| open descriptors | ${first?.fds ?? "?"} at start, ${last?.fds ?? "?"} at the end of the load, ${input.idle.fds} idle afterwards; ` +
    `after the first minute: spread ${fdSpread}, trend ${fmt(fdSlopePerMinute, 2)}/min → **${fdsFlat ? "flat" : "NOT flat"}** |`)
  lines.push(`| resident memory | ${fmt(first?.rssMiB ?? Number.NaN)} MiB at start, ${fmt(last?.rssMiB ?? Number.NaN)} MiB at the end of the load, ` +
    `${fmt(input.idle.rssMiB)} MiB idle afterwards; trend after the first minute ${fmt(rssSlopePerMinute, 2)} MiB/min, ` +
    `over the second half ${fmt(lateRssSlopePerMinute, 2)} MiB/min → **${rssFlat ? "flat" : "NOT flat"}** |`)
  lines.push(`| runner CPU | ${fmt(input.idle.cpuSeconds - (first?.cpuSeconds ?? 0))} s |`)
  lines.push("")
  lines.push("Samples every 30 s:")
  lines.push("")
  lines.push("| second | open fds | RSS MiB | uploads | downloads | errors |")
  lines.push("| ---: | ---: | ---: | ---: | ---: | ---: |")
  for (const s of samples.filter((s, i) => s.second % 30 === 0 || i === samples.length - 1)) {
    lines.push(`| ${s.second} | ${s.fds} | ${fmt(s.rssMiB)} | ${s.uploads} | ${s.downloads} | ${s.errors} |`)
  }
  lines.push("")
  writeFileSync(join(repoRoot, input.report), lines.join("\n"))
  progress(`soak: fds ${fdsFlat ? "flat" : "NOT flat"} (spread ${fdSpread}), RSS ${rssFlat ? "flat" : "NOT flat"} ` +
    `(second half ${fmt(lateRssSlopePerMinute, 2)} MiB/min); wrote ${input.report}`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
