/*
 * Pass/fail criteria. A crossed threshold makes `k6 run` exit non-zero (99), which is what a CI job
 * or a release gate reads. Each budget can be overridden from the environment; the defaults and the
 * reasons for them are in loadtest/README.md.
 */
import { envNumber } from "./config.js"

/** p95 budgets in milliseconds. */
export const BUDGETS = {
  // One INSERT plus a presign computed in memory: what a client waits for before it can start.
  upload: envNumber("UPLOAD_P95_MS", 300),
  // Storage taking the bytes (mean ≈ 0.4 MB in the default mix); on S3 this is mostly bandwidth.
  put: envNumber("PUT_P95_MS", 1000),
  // One indexed SELECT plus a presign; it sits in front of every <img>, so it is the tightest.
  get_image: envNumber("GET_IMAGE_P95_MS", 200)
}

/** At most this share of requests may fail (the "< 0.1 %"). */
export const MAX_FAILED_SHARE = envNumber("MAX_FAILED", 0.001)

/**
 * `endpoints`: which budgets apply to the script. `expectedIterations`: what the scenario offers;
 * iterations k6 could not start (every VU busy because the system stalled) count against it.
 */
export function buildThresholds(endpoints, expectedIterations) {
  const thresholds = {
    http_req_failed: [`rate<${MAX_FAILED_SHARE}`],
    checks: [`rate>${1 - MAX_FAILED_SHARE}`],
    dropped_iterations: [`count<=${Math.ceil(expectedIterations * MAX_FAILED_SHARE)}`]
  }
  for (const endpoint of endpoints) {
    thresholds[`http_req_duration{endpoint:${endpoint}}`] = [`p(95)<${BUDGETS[endpoint]}`]
  }
  return thresholds
}
