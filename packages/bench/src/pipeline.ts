/**
 * Section 2: the embedded runner end to end, started as `bun run start` starts it (a child process
 * on a temporary data folder, PGlite, default workers), fed over HTTP like a client.
 *
 * 1. Capacity: a burst of uploads from the photo mix, all at once; images fully processed (all three
 *    sizes ready) per second from the first upload to the last ready.
 * 2. Latency at a fixed offered rate, below that capacity: upload-complete → ready, p50 / p95.
 *    Readiness is polled (`GET /images/{id}` every 100 ms per image in flight), so a latency is
 *    known to about ±50 ms (the burst polls every 500 ms: ±250 ms on a run of tens of seconds).
 */
import { cpus } from "node:os"
import { loadPhoto, type Photo, uploadPhoto, withEmbeddedRunner } from "./runner.js"
import { cpuSeconds, type MixEntry, percentile, progress, sleep } from "./util.js"

export interface PipelineSection {
  readonly burst: {
    readonly images: number
    readonly seconds: number
    readonly perSecond: number
    readonly failed: number
    /** CPU seconds the runner process spent per image (API, storage, database, three resizes). */
    readonly cpuSecondsPerImage: number | undefined
  }
  /** Cores of this machine: CPU seconds per image → images/s the runner could do on an idle machine. */
  readonly cores: number
  readonly steady: {
    readonly offeredPerSecond: number
    readonly seconds: number
    readonly uploaded: number
    readonly ready: number
    readonly failed: number
    readonly readyPerSecond: number
    readonly p50Ms: number
    readonly p95Ms: number
    readonly maxMs: number
  }
  readonly settings: string
}

/** `count` photos drawn in proportion to the mix's weights, spread evenly (deterministic). */
const sequence = (mix: ReadonlyArray<MixEntry>, count: number): Array<Photo> => {
  const total = mix.reduce((s, e) => s + e.weight, 0)
  const photos = new Map(mix.map((e) => [e.name, loadPhoto(e.name)]))
  // Smooth weighted round-robin: every pick goes to the entry furthest behind its share.
  const credit = new Map(mix.map((e) => [e.name, 0]))
  const out: Array<Photo> = []
  for (let i = 0; i < count; i++) {
    let best = mix[0] as MixEntry
    for (const e of mix) {
      credit.set(e.name, (credit.get(e.name) ?? 0) + e.weight)
      if ((credit.get(e.name) ?? 0) > (credit.get(best.name) ?? 0)) best = e
    }
    credit.set(best.name, (credit.get(best.name) ?? 0) - total)
    out.push(photos.get(best.name) as Photo)
  }
  return out
}

/** POST /upload, then the PUT; resolves with the image id when the PUT has been answered (upload complete). */
const upload = async (baseUrl: string, photo: Photo): Promise<string> => {
  const outcome = await uploadPhoto(baseUrl, photo)
  if (outcome._tag === "Uploaded") return outcome.imageId
  throw new Error(outcome.step === "upload" ? `/upload answered ${outcome.status}` : `PUT answered ${outcome.status}`)
}

type Settled = "ready" | "failed"

/**
 * Polls the status until ready or failed; resolves with the outcome and when it was seen. The
 * polls cost the runner CPU too, so the burst (40 images waiting at once) polls every 500 ms and the
 * latency phase (a few in flight) every 100 ms.
 */
const settle = async (
  baseUrl: string,
  id: string,
  timeoutMs: number,
  pollMs: number
): Promise<{ outcome: Settled | "timeout"; at: number }> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await fetch(`${baseUrl}/images/${id}`)
    const body: unknown = await res.json()
    const status = typeof body === "object" && body !== null && "status" in body ? body.status : undefined
    if (status === "ready" || status === "failed") return { outcome: status, at: performance.now() }
    if (Date.now() > deadline) return { outcome: "timeout", at: performance.now() }
    await sleep(pollMs)
  }
}

export interface PipelineOptions {
  readonly mix: ReadonlyArray<MixEntry>
  readonly burstImages: number
  /** Offered uploads per second in the latency phase; by default half the measured capacity. */
  readonly rate: number | undefined
  readonly steadySeconds: number
}

export const runPipelineSection = async (options: PipelineOptions): Promise<PipelineSection> => {
  // The defaults of `bun run start` (PGlite, one job at a time per size queue), request log off.
  return withEmbeddedRunner(
    { tempPrefix: "imgpipe-bench-pipeline-", databaseUrl: "" },
    async ({ baseUrl, child: runner, dataDir }) => {
      progress(`pipeline: embedded runner up on ${baseUrl} (PGlite in ${dataDir})`)

      // -- capacity -----------------------------------------------------------------------------
      const burst = sequence(options.mix, options.burstImages)
      const cpuBefore = cpuSeconds(runner.process.pid)
      const start = performance.now()
      const ids: Array<string> = []
      // Four uploads at a time: the burst should land in a second or two, not measure the PUT path.
      for (let i = 0; i < burst.length; i += 4) {
        ids.push(...(await Promise.all(burst.slice(i, i + 4).map((photo) => upload(baseUrl, photo)))))
      }
      progress(
        `pipeline: ${ids.length} uploads in ${
          ((performance.now() - start) / 1000).toFixed(1)
        } s; waiting for all three sizes of each`
      )
      const settled = await Promise.all(ids.map((id) => settle(baseUrl, id, 300_000, 500)))
      const last = Math.max(...settled.map((s) => s.at))
      const cpuAfter = cpuSeconds(runner.process.pid)
      const burstSeconds = (last - start) / 1000
      const burstResult = {
        images: ids.length,
        seconds: burstSeconds,
        perSecond: ids.length / burstSeconds,
        failed: settled.filter((s) => s.outcome !== "ready").length,
        // The status polls are in it too: two cheap requests per image per second of waiting.
        cpuSecondsPerImage: cpuBefore === undefined || cpuAfter === undefined
          ? undefined
          : (cpuAfter - cpuBefore) / ids.length
      }
      progress(
        `pipeline: capacity ${burstResult.perSecond.toFixed(2)} images/s (${ids.length} in ${
          burstSeconds.toFixed(1)
        } s), ` +
          `${burstResult.cpuSecondsPerImage?.toFixed(2) ?? "?"} CPU s per image`
      )

      // -- latency at a fixed offered rate ------------------------------------------------------
      const rate = options.rate ?? Math.max(0.2, Math.round(burstResult.perSecond * 0.5 * 10) / 10)
      const count = Math.max(1, Math.round(rate * options.steadySeconds))
      const steadyPhotos = sequence(options.mix, count)
      progress(`pipeline: offering ${rate}/s for ${options.steadySeconds} s (${count} uploads)`)
      const steadyStart = performance.now()
      const pending: Array<Promise<{ outcome: Settled | "timeout"; latency: number; readyAt: number }>> = []
      for (let i = 0; i < count; i++) {
        const due = steadyStart + (i * 1000) / rate
        const wait = due - performance.now()
        if (wait > 0) await sleep(wait)
        const photo = steadyPhotos[i] as Photo
        pending.push(
          upload(baseUrl, photo).then(async (id) => {
            const uploadedAt = performance.now()
            const s = await settle(baseUrl, id, 120_000, 100)
            return { outcome: s.outcome, latency: s.at - uploadedAt, readyAt: s.at }
          })
        )
      }
      const results = await Promise.all(pending)
      const ready = results.filter((r) => r.outcome === "ready")
      const latencies = ready.map((r) => r.latency)
      const steadyEnd = Math.max(...results.map((r) => r.readyAt))
      const steady = {
        offeredPerSecond: rate,
        seconds: (steadyEnd - steadyStart) / 1000,
        uploaded: results.length,
        ready: ready.length,
        failed: results.length - ready.length,
        readyPerSecond: ready.length / ((steadyEnd - steadyStart) / 1000),
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        maxMs: percentile(latencies, 100)
      }
      progress(
        `pipeline: at ${rate}/s: ready p50 ${steady.p50Ms.toFixed(0)} ms, p95 ${
          steady.p95Ms.toFixed(0)
        } ms, ${steady.failed} not ready`
      )
      return {
        burst: burstResult,
        cores: cpus().length,
        steady,
        settings: "bun run start defaults: PGlite, IMGPIPE_WORKER_CONCURRENCY=1 per size queue, request log off"
      }
    }
  )
}
