/*
 * Upload traffic: each iteration is one client upload — POST /upload for a ticket, then the PUT of
 * real image bytes to the returned URL with the returned headers. Every READY_SAMPLE_EVERY-th upload
 * also follows get_image until the size it asks for is served (at most READY_WAIT seconds) and
 * records upload-complete → served as `time_to_ready`. A sampled upload that the mix expects to be
 * refused (the `phone` mix's HEIC declared as image/jpeg) waits for the refusal instead: get_image's
 * 422 with the expected code counts in `refused_as_expected`, not in the time to ready.
 *
 *   SCENARIO=steady RATE=116 DURATION=60s k6 run loadtest/upload.js
 *
 * Environment: BASE_URL (http://localhost:3000), API_KEY, SCENARIO (steady|daily|spike), RATE
 * (uploads/s, default 116 = 10M a day), DURATION, MIX or IMAGES (the mix, see lib/images.js),
 * READY_SAMPLE_EVERY (100), READY_WAIT (seconds, 30), the p95 budgets UPLOAD_P95_MS, PUT_P95_MS,
 * GET_IMAGE_P95_MS, MAX_FAILED (0.001), VUS / MAX_VUS, RESULTS_DIR. See loadtest/README.md.
 */
import { check } from "k6"
import exec from "k6/execution"
import { Counter, Rate, Trend } from "k6/metrics"
import { getImage, observeResponses, putBytes, requestUpload, waitUntilRefused, waitUntilServed } from "./lib/api.js"
import { BASE_URL, buildScenario, envNumber, TEN_MILLION_A_DAY } from "./lib/config.js"
import { meanUploadBytes, pickImage } from "./lib/images.js"
import { runSettings, summarize } from "./lib/summary.js"
import { BUDGETS, buildThresholds } from "./lib/thresholds.js"
import { makeTimeline } from "./lib/timeline.js"

const RATE = envNumber("RATE", TEN_MILLION_A_DAY)
const SAMPLE_EVERY = Math.max(1, Math.round(envNumber("READY_SAMPLE_EVERY", 100)))
const READY_WAIT = envNumber("READY_WAIT", 30)
const SIZES = ["small", "medium", "large"]

const plan = buildScenario({
  rate: RATE,
  exec: "upload",
  maxIterationSeconds: READY_WAIT + 5,
  // Ticket + PUT on a healthy system; the VU pool is sized from it (see buildScenario).
  typicalIterationSeconds: 0.2,
  waitingFraction: 1 / SAMPLE_EVERY
})

export const options = {
  scenarios: { [plan.name]: plan.scenario },
  thresholds: buildThresholds(["upload", "put", "get_image"], plan.expectedIterations),
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"],
  // Keep-alive like a real client's connection pool; a fresh TLS handshake per upload is not what
  // the API or S3 sees from apps.
  noConnectionReuse: false,
  discardResponseBodies: false
}

// Latency over time for the report: the run plus its graceful stop (iterations still finishing).
const timeline = makeTimeline(["upload", "put", "get_image"], plan.durationSeconds + READY_WAIT + 15)
observeResponses(timeline.record)

const timeToReady = new Trend("time_to_ready", true)
const readyWithinWait = new Rate("ready_within_wait")
const readySamples = new Counter("ready_samples")
const refusedAsExpected = new Rate("refused_as_expected")
const uploadedBytes = new Counter("uploaded_bytes")

export function upload() {
  const image = pickImage()
  const ticket = requestUpload(image)
  if (ticket === null) return
  if (!putBytes(ticket, image)) return
  uploadedBytes.add(image.size)
  const uploadedAt = Date.now()

  const n = exec.scenario.iterationInTest
  if (n % SAMPLE_EVERY !== 0) return
  // Sizes in turn, so each gets its share of the sample; tagged, so the report can split them.
  const size = SIZES[Math.floor(n / SAMPLE_EVERY) % SIZES.length]
  if (image.refused !== null) {
    const code = waitUntilRefused(ticket.image_id, size, uploadedAt, READY_WAIT)
    refusedAsExpected.add(code === image.refused, { code: image.refused })
    check(code, { [`refused: get_image 422 ${image.refused}`]: (c) => c === image.refused })
    return
  }
  readySamples.add(1)
  const elapsed = waitUntilServed(ticket.image_id, size, uploadedAt, READY_WAIT)
  readyWithinWait.add(elapsed !== null, { size })
  if (elapsed !== null) timeToReady.add(elapsed, { size })
}

export default upload

/** One get_image before the run: fails fast with a clear message when BASE_URL is wrong. */
export function setup() {
  const res = getImage("00000000-0000-7000-8000-000000000000", "small", true, "setup")
  if (res.status === 0) throw new Error(`cannot reach ${BASE_URL}: ${res.error}`)
}

export function handleSummary(data) {
  return summarize(
    data,
    Object.assign(runSettings("upload.js", RATE, plan), {
      mean_upload_bytes: Math.round(meanUploadBytes()),
      budgets_ms: BUDGETS,
      timeline: { bucket_s: timeline.bucketSeconds },
      ready_sample: { every: SAMPLE_EVERY, wait_s: READY_WAIT, sizes: SIZES }
    })
  )
}
