/**
 * Section 7: webhook delivery throughput through the embedded runner's table queue — the same
 * poller (`pollWebhooks`), use case (`deliverWebhook`: lease, status JSON, HMAC signature, POST,
 * outcome recorded) and HTTP client the runner uses, on the embedded PGlite, to a receiver that
 * answers 204 at once in a process of its own (so the bench measures imgpipe's side, not the
 * receiver). `deliveries` images turn `ready` in one statement (the outbox trigger writes one row
 * each), then the clock runs until the receiver has counted them all; every delivery must arrive
 * exactly once.
 */
import { SqlClient } from "@effect/sql"
import { webhookSettingsForTest } from "@imgpipe/core/config/webhooks"
import { pollWebhooks } from "@imgpipe/core/local/PgWebhookQueue"
import { PgWebhookQueueLive } from "@imgpipe/core/local/PgWebhookQueue"
import { PgliteLive } from "@imgpipe/core/sql/embedded"
import { ImageRepositorySql } from "@imgpipe/core/sql/ImageRepositorySql"
import { runMigrations } from "@imgpipe/core/sql/migrate"
import { WebhookDeliveriesSql } from "@imgpipe/core/sql/WebhookDeliveriesSql"
import { NodeResolverLive, webhookHttpClientLayer } from "@imgpipe/core/util/ssrf"
import { Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { freePort, progress, sleep, startChild } from "./util.js"

export interface WebhookRun {
  readonly concurrency: number
  readonly deliveries: number
  readonly seconds: number
  readonly perSecond: number
  /** Requests the receiver counted beyond one per delivery (must be 0). */
  readonly duplicates: number
}

export interface WebhookSection {
  readonly runs: ReadonlyArray<WebhookRun>
  readonly database: string
}

/** The receiver: counts POSTs, answers 204; `GET /count` says how many. */
const RECEIVER = `
const http = require("node:http")
let count = 0
http.createServer((req, res) => {
  if (req.method === "GET") return res.end(String(count))
  req.resume()
  req.on("end", () => { count++; res.writeHead(204).end() })
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"))
`

const received = async (port: number): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${port}/count`)
  return Number(await res.text())
}

const run = (options: { readonly concurrency: number; readonly deliveries: number; readonly url: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`TRUNCATE webhook_deliveries, renditions, images`
    // The images go ready together: the trigger writes one delivery row per image.
    yield* sql`
      INSERT INTO images (id, status, declared_content_type, declared_bytes, upload_expires_at, callback_url)
      SELECT gen_random_uuid(), 'processing', 'image/jpeg', 1000, now() + interval '1 hour', ${options.url}
      FROM generate_series(1, ${options.deliveries})`
    yield* sql`UPDATE images SET status = 'ready', updated_at = now()`
    const port = Number(new URL(options.url).port)
    const before = yield* Effect.promise(() => received(port))
    const started = performance.now()
    const poller = yield* Effect.fork(pollWebhooks({ concurrency: options.concurrency, idlePollMillis: 5 }))
    let count = 0
    while (count < options.deliveries) {
      yield* Effect.promise(() => sleep(20))
      count = (yield* Effect.promise(() => received(port))) - before
      if (performance.now() - started > 60_000) break
    }
    const seconds = (performance.now() - started) / 1000
    // The receiver has them all; the last outcomes may still be on their way to the table.
    const deliveredCount = sql<{ delivered: number }>`
      SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE delivered_at IS NOT NULL`.pipe(
      Effect.map((rows) => rows[0]?.delivered ?? 0)
    )
    let delivered = yield* deliveredCount
    for (let i = 0; i < 100 && delivered < options.deliveries; i++) {
      yield* Effect.promise(() => sleep(20))
      delivered = yield* deliveredCount
    }
    yield* Fiber.interrupt(poller)
    if (delivered < options.deliveries) {
      throw new Error(`only ${delivered} of ${options.deliveries} deliveries recorded in ${seconds.toFixed(1)} s`)
    }
    return {
      concurrency: options.concurrency,
      deliveries: options.deliveries,
      seconds,
      perSecond: options.deliveries / seconds,
      duplicates: count - options.deliveries
    } satisfies WebhookRun
  })

export const runWebhooksSection = async (
  options: { readonly deliveries: number; readonly concurrencies: ReadonlyArray<number> }
): Promise<WebhookSection> => {
  const port = await freePort()
  const receiver = startChild(process.execPath, ["-e", RECEIVER], { PORT: String(port) })
  try {
    for (let i = 0; !receiver.output().includes("listening"); i++) {
      if (i > 100) throw new Error(`the receiver did not start: ${receiver.output()}`)
      await sleep(50)
    }
    const url = `http://127.0.0.1:${port}/hook`
    const layer = Layer.mergeAll(
      ImageRepositorySql,
      WebhookDeliveriesSql,
      PgWebhookQueueLive,
      webhookSettingsForTest({ secret: "bench-secret", allowPrivate: true }),
      NodeResolverLive,
      webhookHttpClientLayer({ allowPrivate: true })
    ).pipe(Layer.provideMerge(Layer.effectDiscard(runMigrations).pipe(Layer.provideMerge(PgliteLive()))))
    const runs = await Effect.runPromise(
      Effect.gen(function* () {
        const out: Array<WebhookRun> = []
        for (const concurrency of options.concurrencies) {
          const result = yield* run({ concurrency, deliveries: options.deliveries, url })
          progress(
            `webhooks: ${result.deliveries} deliveries at concurrency ${concurrency}: ${result.perSecond.toFixed(0)}/s`
          )
          out.push(result)
        }
        return out
      }).pipe(Effect.provide(layer), Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))
    )
    return { runs, database: "embedded PGlite" }
  } finally {
    await receiver.stop()
  }
}

/** The summary table's rows. */
export const webhooksSummary = (
  section: WebhookSection
): ReadonlyArray<{ readonly what: string; readonly result: string }> =>
  section.runs.map((r) => ({
    what: `${r.deliveries} deliveries, ${r.concurrency} in flight`,
    result: `${r.perSecond.toFixed(0)} deliveries/s${r.duplicates === 0 ? "" : ` (${r.duplicates} duplicates!)`}`
  }))

/** The section in docs/benchmarks.md. */
export const webhooksMarkdown = (section: WebhookSection): string =>
  [
    `Through the embedded runner's table queue on ${section.database}: the runner's poller and \`deliverWebhook\``,
    "(lease the row, build the status JSON, sign, POST, record the outcome) to a receiver in its own process that",
    "answers 204 at once. All images turn ready in one statement; the clock runs until the receiver counted every",
    "delivery. Each delivery is four queries (claim, image with its delivery state, renditions, outcome) plus one",
    "per batch, on the embedded database's one connection: that, not the HTTP side, is the limit.",
    "",
    "| in flight (IMGPIPE_WEBHOOK_CONCURRENCY) | deliveries | seconds | deliveries/s | duplicates |",
    "| ---: | ---: | ---: | ---: | ---: |",
    ...section.runs.map((r) =>
      `| ${r.concurrency} | ${r.deliveries} | ${r.seconds.toFixed(1)} | ${r.perSecond.toFixed(0)} | ${r.duplicates} |`
    )
  ].join("\n")
