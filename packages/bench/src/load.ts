/**
 * The load generator of section 3, run as its own process so the bench can pin it to the core the
 * servers do not use. Reads one JSON job from argv, runs autocannon, prints one JSON result line.
 */
import autocannon from "autocannon"

export interface LoadJob {
  readonly url: string
  readonly endpoint: "upload" | "get_image"
  readonly connections: number
  readonly seconds: number
  /** For get_image: the ids to rotate through (sizes rotate too). */
  readonly ids: ReadonlyArray<string>
}

export interface LoadResult {
  readonly requestsPerSecond: number
  readonly total: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly expected: number
  readonly unexpected: number
  readonly errors: number
}

const SIZES = ["small", "medium", "large"] as const

const run = async (job: LoadJob): Promise<LoadResult> => {
  let n = 0
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    requests: job.endpoint === "upload"
      ? [{
        method: "POST",
        path: "/upload",
        headers: { "content-type": "application/json" },
        // The photo mix's most common file (1.3 MP JPEG): what the declared length is does not
        // change the work, only that it is valid.
        body: JSON.stringify({ content_type: "image/jpeg", content_length: 183_377 })
      }]
      : [{
        method: "GET",
        setupRequest: (request) => {
          const i = n++
          const id = job.ids[i % job.ids.length] ?? ""
          const size = SIZES[Math.floor(i / job.ids.length) % SIZES.length] ?? "small"
          return { ...request, path: `/get_image?image_id=${id}&image_size=${size}` }
        }
      }]
  })
  const expected = job.endpoint === "upload" ? result["2xx"] : result["3xx"]
  return {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    expected,
    unexpected: result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"] - expected,
    errors: result.errors
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")
if (isMain) {
  // Written by api.ts from a LoadJob value.
  const job = JSON.parse(process.argv[2] ?? "{}") as LoadJob
  run(job).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exit(1)
    }
  )
}
