/*
 * The verdict of a run from k6's own threshold results: every threshold with ok / FAILED, and a
 * closing line that names the ones that failed ("FAILED: 3 of 6 thresholds crossed: …"), so a
 * reader of the terminal or a CI log sees what broke without opening the report. Pure functions
 * (no k6 module): summary.js uses them, and packages/bench/test/loadtest-report.test.ts tests them.
 */

/**
 * Every threshold k6 evaluated, as `{ metric, source, ok, value }`, sorted by metric name;
 * `observe(metric, source)` gives the value shown beside it (e.g. the p(95) it looked at).
 */
export function thresholdResults(metrics, observe) {
  const rows = []
  for (const name of Object.keys(metrics).sort()) {
    const metric = metrics[name]
    if (metric.thresholds === undefined) continue
    for (const source of Object.keys(metric.thresholds)) {
      rows.push({
        metric: name,
        source,
        ok: metric.thresholds[source].ok === true,
        value: observe ? observe(metric, source) : "–"
      })
    }
  }
  return rows
}

/** `http_req_duration{endpoint:upload} p(95)<300 (observed 517 ms)` */
export function describeThreshold(row) {
  return `${row.metric} ${row.source} (observed ${row.value})`
}

/** The thresholds block of the text summary: one line per threshold, `ok` or `FAILED` first. */
export function thresholdLines(rows) {
  return rows.map((row) => `    ${(row.ok ? "ok" : "FAILED").padEnd(6)}  ${describeThreshold(row)}`)
}

/**
 * `{ passed, failed, headline }`: `headline` is one line, for a terminal or a CI log ("PASSED: all 6
 * thresholds held", "FAILED: 3 of 6 thresholds crossed: a, b, c"); `failed` the rows that failed.
 */
export function verdict(rows) {
  const failed = rows.filter((row) => !row.ok)
  const total = rows.length
  const noun = total === 1 ? "threshold" : "thresholds"
  if (failed.length === 0) {
    return {
      passed: true,
      failed,
      headline: total === 0 ? "PASSED: no thresholds defined" : `PASSED: all ${total} ${noun} held`
    }
  }
  return {
    passed: false,
    failed,
    headline: `FAILED: ${failed.length} of ${total} ${noun} crossed: ${
      failed.map((row) => `${row.metric} ${row.source}`).join(", ")
    }`
  }
}
