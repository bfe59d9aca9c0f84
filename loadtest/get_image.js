/*
 * Read traffic: GET /get_image on images uploaded in setup(), as <img src> and apps fetch them. Each
 * request asks one size of one id without following the redirect, and checks the 302 and the
 * X-Image-Size it names (the requested size once every size of that image is ready, else a
 * fallback: another size or the original).
 *
 *   SCENARIO=steady RATE=350 DURATION=60s k6 run loadtest/get_image.js
 *
 * Environment: as upload.js (BASE_URL, API_KEY, SCENARIO, RATE, DURATION, MIX or IMAGES,
 * GET_IMAGE_P95_MS, MAX_FAILED, VUS/MAX_VUS, RESULTS_DIR), plus SETUP_IMAGES (uploads made in setup,
 * 30, picked among the images the mix expects to be processed) and READY_WAIT (seconds setup waits
 * for their renditions, 120). RATE is reads per second; 350 is about one read per size of each of
 * 10M daily uploads.
 */
import { check } from "k6"
import { getImage, observeResponses, putBytes, requestUpload, waitUntilServed } from "./lib/api.js"
import { BASE_URL, buildScenario, envNumber, TEN_MILLION_A_DAY } from "./lib/config.js"
import { pickAcceptedImage } from "./lib/images.js"
import { runSettings, summarize } from "./lib/summary.js"
import { BUDGETS, buildThresholds } from "./lib/thresholds.js"
import { makeTimeline } from "./lib/timeline.js"

const RATE = envNumber("RATE", TEN_MILLION_A_DAY)
const SETUP_IMAGES = Math.max(1, Math.round(envNumber("SETUP_IMAGES", 30)))
const READY_WAIT = envNumber("READY_WAIT", 120)
const SIZES = ["small", "medium", "large"]
const SERVED = ["small", "medium", "large", "original"]

const plan = buildScenario({
  rate: RATE,
  exec: "read",
  maxIterationSeconds: 5,
  typicalIterationSeconds: 0.05,
  waitingFraction: 0
})

// Latency over time for the report: the run plus its graceful stop.
const timeline = makeTimeline(["get_image"], plan.durationSeconds + 15)
observeResponses(timeline.record)

export const options = {
  scenarios: { [plan.name]: plan.scenario },
  thresholds: buildThresholds(["get_image"], plan.expectedIterations),
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"],
  // Setup uploads SETUP_IMAGES photos and waits for their renditions.
  setupTimeout: `${Math.ceil(READY_WAIT + SETUP_IMAGES * 5 + 60)}s`
}

/**
 * Uploads the images the run reads, then waits (at most READY_WAIT in all) until each serves its
 * large size, so the run measures the common case: every size ready. Images still processing when
 * the wait ends are read anyway (their answers are fallbacks) and counted in the report.
 * Setup's requests carry their own endpoint tags: they are not part of the read budget.
 */
export function setup() {
  const ids = []
  for (let i = 0; i < SETUP_IMAGES; i++) {
    const image = pickAcceptedImage()
    const ticket = requestUpload(image, "setup")
    if (ticket === null) throw new Error(`setup: /upload failed at ${BASE_URL}`)
    if (!putBytes(ticket, image, "setup")) throw new Error("setup: the PUT to storage failed")
    ids.push(ticket.image_id)
  }
  const started = Date.now()
  let ready = 0
  for (const id of ids) {
    const left = READY_WAIT - (Date.now() - started) / 1000
    if (left > 0 && waitUntilServed(id, "large", Date.now(), left, "setup") !== null) ready++
  }
  return { ids, ready }
}

export function read(data) {
  const id = data.ids[Math.floor(Math.random() * data.ids.length)]
  const size = SIZES[Math.floor(Math.random() * SIZES.length)]
  const res = getImage(id, size, false)
  const served = res.headers["X-Image-Size"]
  check(res, {
    "get_image: 302 with a Location": (r) =>
      r.status === 302 && typeof r.headers.Location === "string" && r.headers.Location.length > 0,
    "get_image: X-Image-Size names a size or the original": () => SERVED.indexOf(served) >= 0
  })
}

export default read

export function handleSummary(data) {
  const setupData = data.setup_data || { ids: [], ready: 0 }
  return summarize(
    data,
    Object.assign(runSettings("get_image.js", RATE, plan), {
      budgets_ms: { get_image: BUDGETS.get_image },
      timeline: { bucket_s: timeline.bucketSeconds },
      setup: { images: setupData.ids.length, ready_before_run: setupData.ready, wait_s: READY_WAIT }
    })
  )
}
