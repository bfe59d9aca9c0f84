/*
 * Settings from the environment (`-e NAME=value` or the shell's environment) and the three traffic
 * shapes. Plain ES2015+ with k6 v0.48's built-in modules only: no remote imports, so the scripts run
 * offline on any k6 from v0.48 on.
 */

/** 10,000,000 uploads a day spread evenly: 10e6 / 86,400 s ≈ 115.7/s. */
export const TEN_MILLION_A_DAY = 116

export function envString(name, fallback) {
  const value = __ENV[name]
  return value === undefined || value === "" ? fallback : value
}

export function envNumber(name, fallback) {
  const raw = __ENV[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
  return value
}

/** "90s", "10m", "1h30m", "1500ms", or a bare number of seconds → seconds. */
export function parseDuration(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
  let total = 0
  let consumed = 0
  let match
  while ((match = re.exec(text)) !== null) {
    const n = Number(match[1])
    total += match[2] === "ms" ? n / 1000 : match[2] === "s" ? n : match[2] === "m" ? n * 60 : n * 3600
    consumed += match[0].length
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a duration: "${text}" (use e.g. 60s, 10m, 1h)`)
  return total
}

/** Seconds → a k6 duration string (whole milliseconds, so stages never round to zero). */
export function seconds(value) {
  return `${Math.max(0, Math.round(value * 1000))}ms`
}

/** The API's base URL without a trailing slash; `bun run start` listens on port 3000. */
export const BASE_URL = envString("BASE_URL", "http://localhost:3000").replace(/\/+$/, "")
export const API_KEY = envString("API_KEY", "")
export const SCENARIO = envString("SCENARIO", "steady")

/*
 * The hour-by-hour shape of a consumer photo service's uploads, relative: a night trough around
 * 03:00 (a fifth of the average), a morning ramp from 06:00, a flat working day, an evening peak
 * at 20:00 and the fall into the night. hourlyShape() makes the peak exactly 3× the average and
 * the day average exactly 1, so a compressed day offers about RATE × DURATION uploads in all.
 */
const HOURLY_SHAPE = [
  0.45,
  0.3,
  0.25,
  0.25,
  0.3,
  0.45,
  0.7,
  0.95,
  1.1,
  1.15,
  1.15,
  1.15,
  1.15,
  1.1,
  1.05,
  1.05,
  1.1,
  1.3,
  1.75,
  2.4,
  3.0,
  2.3,
  1.25,
  0.8
]

/** The shape with its peak at exactly 3× and the other hours scaled so the day averages 1. */
function hourlyShape() {
  const peak = Math.max.apply(null, HOURLY_SHAPE)
  const others = HOURLY_SHAPE.reduce((a, b) => a + b, 0) - peak
  const scale = (HOURLY_SHAPE.length - 3) / others
  return HOURLY_SHAPE.map((m) => (m === peak ? 3 : m * scale))
}

/**
 * The scenario for SCENARIO/RATE/DURATION, plus what a run should offer (for the dropped-iterations
 * threshold and the report).
 *
 * `waitSeconds` is how long one iteration may run at most (a sampled upload waits for its
 * rendition): the graceful stop lets those iterations finish instead of cutting them off.
 */
export function buildScenario(options) {
  const rate = options.rate
  const exec = options.exec
  const maxIterationSeconds = options.maxIterationSeconds
  const common = {
    exec,
    timeUnit: "1s",
    gracefulStop: seconds(maxIterationSeconds + 10)
  }
  let scenario
  let expected
  let peak
  let durationSeconds
  if (SCENARIO === "steady") {
    durationSeconds = parseDuration(envString("DURATION", "10m"))
    peak = rate
    expected = rate * durationSeconds
    scenario = Object.assign({ executor: "constant-arrival-rate", rate, duration: seconds(durationSeconds) }, common)
  } else if (SCENARIO === "daily") {
    // One compressed day: each hour of the shape lasts DURATION / 24 (default 24m: a minute an hour).
    durationSeconds = parseDuration(envString("DURATION", "24m"))
    const hour = durationSeconds / 24
    const shape = hourlyShape()
    // Ramp between hourly targets: the offered rate in hour h moves from shape[h-1] to shape[h].
    const stages = shape.map((m) => ({ target: Math.max(1, Math.round(rate * m)), duration: seconds(hour) }))
    // Integral of the piecewise-linear ramp, for the expected count.
    let previous = shape[shape.length - 1]
    expected = 0
    for (const m of shape) {
      expected += rate * hour * (previous + m) / 2
      previous = m
    }
    peak = Math.round(rate * Math.max.apply(null, shape))
    scenario = Object.assign({
      executor: "ramping-arrival-rate",
      startRate: Math.max(1, Math.round(rate * shape[shape.length - 1])),
      stages
    }, common)
  } else if (SCENARIO === "spike") {
    // RATE, then a sudden 10× for one minute (reached in one second), then RATE again while the
    // backlog drains. DURATION is the whole run (default 5m): a third before the spike, two after.
    durationSeconds = Math.max(parseDuration(envString("DURATION", "5m")), 90)
    const calm = durationSeconds - 62
    const before = calm / 3
    const after = calm - before
    peak = rate * 10
    scenario = Object.assign({
      executor: "ramping-arrival-rate",
      startRate: rate,
      stages: [
        { target: rate, duration: seconds(before) },
        { target: peak, duration: "1s" },
        { target: peak, duration: "60s" },
        { target: rate, duration: "1s" },
        { target: rate, duration: seconds(after) }
      ]
    }, common)
    expected = rate * before + (rate + peak) / 2 + peak * 60 + (rate + peak) / 2 + rate * after
  } else {
    throw new Error(`SCENARIO must be steady, daily or spike, got "${SCENARIO}"`)
  }

  // An iteration that does not wait takes two round trips; one that waits holds its VU for up to
  // `maxIterationSeconds`. Arrival-rate executors start iterations on time whatever the answers
  // take; an iteration that finds no idle VU is dropped (k6 adds VUs up to maxVUs, but not in
  // time for it). So the pool starts with 4× the VUs a healthy system needs, and dropped
  // iterations mean the system's answers slowed to several times their usual time.
  const busySeconds = options.typicalIterationSeconds
  const waiting = peak * options.waitingFraction * maxIterationSeconds
  // Capped at 600: every VU holds its own copy of the mix's bytes (≈ 7.6 MB for `photos`).
  scenario.preAllocatedVUs = Math.round(
    envNumber("VUS", Math.min(600, Math.ceil(peak * busySeconds * 4 + waiting + 10)))
  )
  scenario.maxVUs = Math.round(
    envNumber("MAX_VUS", Math.max(scenario.preAllocatedVUs, Math.ceil(peak * 2 + waiting + 20)))
  )
  return { name: SCENARIO, scenario, expectedIterations: Math.round(expected), peakRate: peak, durationSeconds }
}
