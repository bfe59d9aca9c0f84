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
import { readdirSync, readFileSync } from "node:fs"
import { withEmbeddedRunner } from "./runner.js"
import { type Sample, writeReport } from "./soak/report.js"
import { makeTraffic } from "./soak/traffic.js"
import { cpuSeconds, fmt, progress, sleep } from "./util.js"

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

const main = async () => {
  const rate = numberEnv("BENCH_SOAK_RATE", 5)
  const seconds = numberEnv("BENCH_SOAK_SECONDS", 600)
  const downloadRate = rate * 2
  // PGlite unless a PostgreSQL server is named, to tell the database's memory from the runner's.
  const runnerOptions = { tempPrefix: "imgpipe-soak-", databaseUrl: process.env.BENCH_SOAK_DATABASE_URL ?? "" }
  await withEmbeddedRunner(runnerOptions, async ({ baseUrl, child: runner }) => {
    const { upload, download, counts, errorKinds, stored } = makeTraffic(baseUrl)
    const samples: Array<Sample> = []
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
        progress(
          `soak: ${s.second} s: ${s.uploads} uploads, ${s.downloads} downloads, ${s.errors} errors; fds ${s.fds}, RSS ${
            fmt(s.rssMiB)
          } MiB`
        )
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
  })
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)
