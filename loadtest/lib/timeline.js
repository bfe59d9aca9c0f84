/*
 * Records each request's duration into the Trend of its endpoint and time bucket (see
 * timeline-chart.js, which draws them). The Trends are created here, in the init context, as k6
 * requires; `totalSeconds` is the scenario's length plus its graceful stop.
 */
import exec from "k6/execution"
import { Trend } from "k6/metrics"
import { bucketOf, bucketPlan, timelineMetricName } from "./timeline-chart.js"

export function makeTimeline(endpoints, totalSeconds) {
  const plan = bucketPlan(totalSeconds)
  const trends = {}
  for (const endpoint of endpoints) {
    trends[endpoint] = []
    for (let i = 0; i < plan.buckets; i++) trends[endpoint].push(new Trend(timelineMetricName(endpoint, i), true))
  }
  return {
    bucketSeconds: plan.bucketSeconds,
    /** api.js calls this with every response and its endpoint tag. */
    record(endpoint, res) {
      const list = trends[endpoint]
      if (list === undefined || res.timings === undefined) return
      let startTime
      try {
        startTime = exec.scenario.startTime
      } catch (_error) {
        return // setup() and teardown() run outside any scenario
      }
      list[bucketOf(plan, Date.now() - startTime)].add(res.timings.duration)
    }
  }
}
