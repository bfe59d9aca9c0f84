/**
 * Alarms on the two ways work gets stuck: messages that failed three times (dead-letter depth),
 * and queues that are not drained (age of the oldest message). Plus the one way work gets lost:
 * S3 events that StartProcessing never handled.
 *
 * They notify an SNS topic; subscribe to it once per stage (docs/deploy.md).
 */
import { OLDEST_MESSAGE_ALARM_SECONDS, SIZE_TITLE, type Size, deadLetterQueueName, queueName } from "./settings"

export interface MonitoringInput {
  readonly queues: Readonly<Record<Size, sst.aws.Queue>>
  readonly deadLetter: sst.aws.Queue
  readonly startProcessing: sst.aws.Function
}

export function monitoring(input: MonitoringInput) {
  const stage = $app.stage
  const topic = new sst.aws.SnsTopic("Alarms")
  // OK actions too: whoever was paged learns when it is over.
  const notify = [topic.arn]

  const deadLetterDepth = new aws.cloudwatch.MetricAlarm("DeadLetterNotEmpty", {
    name: `${deadLetterQueueName(stage)}-not-empty`,
    alarmDescription:
      "A resize job failed 3 times and was dead-lettered. Its image is `failed` (processing_failed) " +
      "and still serves its other sizes. Fix the cause, then redrive the DLQ (docs/deploy.md).",
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: input.deadLetter.nodes.queue.name },
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    // SQS stops publishing for a queue idle for hours: no data means an empty DLQ.
    treatMissingData: "notBreaching",
    alarmActions: notify,
    okActions: notify
  })

  const oldestMessage = (size: Size) =>
    new aws.cloudwatch.MetricAlarm(`OldestMessage${SIZE_TITLE[size]}`, {
      name: `${queueName(size, stage)}-oldest-message-age`,
      alarmDescription:
        `Jobs wait more than ${OLDEST_MESSAGE_ALARM_SECONDS} s in ${queueName(size, stage)}: ProcessImage is ` +
        "failing, throttled, or out of concurrency. Images stay on a fallback size meanwhile.",
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: input.queues[size].nodes.queue.name },
      statistic: "Maximum",
      period: 60,
      // Three minutes in a row: one slow batch is not an incident, a trend is.
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: OLDEST_MESSAGE_ALARM_SECONDS,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: notify,
      okActions: notify
    })

  const oldestMessageBySize: Record<Size, aws.cloudwatch.MetricAlarm> = {
    small: oldestMessage("small"),
    medium: oldestMessage("medium"),
    large: oldestMessage("large")
  }

  const droppedUploadEvents = new aws.cloudwatch.MetricAlarm("StartProcessingEventsDropped", {
    name: `start-processing-${stage}-events-dropped`,
    alarmDescription:
      "S3 ObjectCreated events were dropped after Lambda's retries: those uploads stay " +
      "`awaiting_upload` until StartProcessing is invoked for them again (docs/deploy.md).",
    namespace: "AWS/Lambda",
    metricName: "AsyncEventsDropped",
    dimensions: { FunctionName: input.startProcessing.name },
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: notify,
    okActions: notify
  })

  return { topic, deadLetterDepth, oldestMessage: oldestMessageBySize, droppedUploadEvents }
}
