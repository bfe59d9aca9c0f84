/**
 * Section 3: `/upload` and `/get_image` throughput and p99 of the imgpipe API (the ECS entry,
 * packages/api/src/main.ts: PostgreSQL + S3 presigns) against a bare `node:http` handler doing the
 * same INSERT and presign (bare-server.ts), in the same run, on the same database.
 *
 * Each server is pinned to core 0 and the load generator (autocannon, load.ts) to core 1 with
 * `taskset`, so "requests/s" is what one core of API serves. PostgreSQL (a server on this machine)
 * is not pinned: it does the same work for both. S3 is never called — presigning is local.
 */
import { renditionKey } from "@imgpipe/core/domain/sizes"
import { cpus } from "node:os"
import pg from "pg"
import { v7 as uuidv7 } from "uuid"
import type { LoadJob, LoadResult } from "./load.js"
import { type Child, cpuSeconds, freePort, pinned, progress, startChild, tsxNode, waitReady, which } from "./util.js"

export type Target = "imgpipe" | "bare"
export type Endpoint = "upload" | "get_image"

export interface ApiRun {
  readonly target: Target
  readonly endpoint: Endpoint
  readonly result: LoadResult
  /**
   * Answered requests per CPU-second of the server process (/proc): what one core serves when it
   * does nothing else. The measured req/s above also depends on what else ran on core 0.
   */
  readonly perCpuSecond: number | undefined
}

export interface ApiSection {
  readonly results: ReadonlyArray<ApiRun>
  readonly pinning: string
  readonly database: string
  readonly connections: number
  readonly seconds: number
}

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** Images with three ready renditions, written straight to the tables get_image reads. */
const seed = async (client: pg.Client, count: number): Promise<Array<string>> => {
  const ids: Array<string> = []
  for (let i = 0; i < count; i++) {
    const id = uuidv7()
    ids.push(id)
    await client.query(
      `INSERT INTO images (id, status, declared_content_type, declared_bytes, upload_expires_at, original_bytes,
         original_content_type, original_format, original_width, original_height)
       VALUES ($1, 'ready', 'image/jpeg', 183377, now() + interval '15 minutes', 183377, 'image/jpeg', 'jpeg', 1280, 1024)`,
      [id]
    )
    for (const [size, w, h] of [["small", 320, 256], ["medium", 1024, 819], ["large", 1280, 1024]] as const) {
      await client.query(
        `INSERT INTO renditions (image_id, size, status, key, width, height, bytes, content_type)
         VALUES ($1, $2, 'ready', $3, $4, $5, 50000, 'image/jpeg')`,
        [id, size, renditionKey(id, size), w, h]
      )
    }
  }
  return ids
}

const runLoad = (job: LoadJob, cpu: number | undefined): Promise<LoadResult> => {
  const [node, args] = tsxNode("packages/bench/src/load.ts")
  const [command, fullArgs] = pinned(cpu, node, [...args, JSON.stringify(job)])
  const child = startChild(command, fullArgs, {})
  return new Promise((done, fail) => {
    child.process.once("exit", (code) => {
      const line = child.output().trim().split("\n").at(-1) ?? ""
      if (code !== 0) return fail(new Error(`load generator failed (${code}): ${child.output()}`))
      try {
        // The last line is load.ts's own JSON.stringify of a LoadResult.
        done(JSON.parse(line) as LoadResult)
      } catch {
        fail(new Error(`load generator said: ${child.output()}`))
      }
    })
  })
}

export interface ApiOptions {
  readonly seconds: number
  readonly connections: number
}

export const runApiSection = async (options: ApiOptions): Promise<ApiSection> => {
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  try {
    await admin.connect()
  } catch (error) {
    throw new Error(
      `no PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, "//…@")} (${String(error)}); set BENCH_DATABASE_URL`
    )
  }
  const name = `imgpipe_bench_${Date.now().toString(36)}`
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const databaseUrl = url.toString()
  const servers: Array<Child> = []
  try {
    const [node, migrateArgs] = tsxNode("packages/core/src/sql/migrate-main.ts")
    const migrate = startChild(node, migrateArgs, { DATABASE_URL: databaseUrl })
    const code = await new Promise<number | null>((done) => migrate.process.once("exit", done))
    if (code !== 0) throw new Error(`migrations failed: ${migrate.output()}`)
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    const ids = await seed(client, 300)
    await client.end()
    progress(`api: database ${name} migrated and seeded with ${ids.length} ready images`)

    const twoCores = cpus().length >= 2 && which("taskset") !== undefined
    const serverCpu = twoCores ? 0 : undefined
    const loadCpu = twoCores ? 1 : undefined
    const env = {
      DATABASE_URL: databaseUrl,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIABENCHMARK0000000",
      AWS_SECRET_ACCESS_KEY: "bench-secret-not-used-for-any-request",
      AWS_ENDPOINT_URL: "",
      IMGPIPE_RAW_BUCKET: "raw-image-bench",
      IMGPIPE_PROCESSED_BUCKET: "processed-image-bench",
      IMGPIPE_QUEUE_SMALL_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-small-image-bench",
      IMGPIPE_QUEUE_MEDIUM_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-medium-image-bench",
      IMGPIPE_QUEUE_LARGE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/process-large-image-bench",
      IMGPIPE_DB_POOL_SIZE: "10",
      IMGPIPE_API_KEYS: "",
      // Both sides without a request log: the comparison is of the request path.
      IMGPIPE_LOG_LEVEL: "WARN"
    }
    const pids: Partial<Record<Target, number>> = {}
    const ports: Record<Target, number> = { imgpipe: await freePort(), bare: await freePort() }
    const entries: Record<Target, string> = {
      imgpipe: "packages/api/src/main.ts",
      bare: "packages/bench/src/bare-server.ts"
    }
    for (const target of ["imgpipe", "bare"] as const) {
      const [command, args] = tsxNode(entries[target])
      const [pinnedCommand, pinnedArgs] = pinned(serverCpu, command, args)
      const server = startChild(pinnedCommand, pinnedArgs, { ...env, PORT: String(ports[target]) })
      servers.push(server)
      if (server.process.pid !== undefined) pids[target] = server.process.pid
      await waitReady(`http://127.0.0.1:${ports[target]}/ready`, server)
    }
    progress(
      `api: imgpipe API and bare handler up${
        twoCores ? " on core 0, load generator on core 1" : " (no taskset or one core: unpinned)"
      }`
    )

    const results: Array<ApiRun> = []
    for (const endpoint of ["upload", "get_image"] as const) {
      for (const target of ["imgpipe", "bare"] as const) {
        const job: LoadJob = {
          url: `http://127.0.0.1:${ports[target]}`,
          endpoint,
          connections: options.connections,
          seconds: options.seconds,
          ids
        }
        // A short untimed run first: JIT, connection pools and the database's caches warm up.
        await runLoad({ ...job, seconds: 2 }, loadCpu)
        const cpuBefore = cpuSeconds(pids[target])
        const result = await runLoad(job, loadCpu)
        const cpuAfter = cpuSeconds(pids[target])
        const perCpuSecond = cpuBefore === undefined || cpuAfter === undefined || cpuAfter <= cpuBefore
          ? undefined
          : result.expected / (cpuAfter - cpuBefore)
        results.push({ target, endpoint, result, perCpuSecond })
        progress(
          `api: ${target} ${endpoint}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, ` +
            `${perCpuSecond?.toFixed(0) ?? "?"} per CPU-second` +
            (result.unexpected + result.errors > 0
              ? ` (${result.unexpected} unexpected statuses, ${result.errors} errors)`
              : "")
        )
      }
    }
    return {
      results,
      pinning: twoCores ? "server on core 0, autocannon on core 1 (taskset); PostgreSQL unpinned" : "unpinned",
      database: `PostgreSQL ${
        (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "?"
      } on this machine, pool of 10`,
      connections: options.connections,
      seconds: options.seconds
    }
  } finally {
    for (const server of servers) await server.stop()
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
    await admin.end()
  }
}
