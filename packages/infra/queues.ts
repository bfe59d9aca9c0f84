/**
 * One queue per size, so a backlog of large images never delays the small ones (the sizes a page
 * shows first), and one dead-letter queue shared by the three: what lands there needs a person,
 * whichever size it was, and the message body names the size.
 *
 * The ingest queue `image-uploaded-<stage>` holds the raw bucket's ObjectCreated notifications
 * until StartProcessing has turned them into jobs (14 days, where S3's direct invocation kept an
 * event 6 hours), with a dead-letter queue of its own: what lands there is an upload whose
 * processing never started, redriven to the ingest queue, not to a size queue.
 */
import {
  deadLetterQueueName,
  INGEST_VISIBILITY_SECONDS,
  ingestDeadLetterQueueName,
  ingestQueueName,
  MAX_RECEIVES,
  QUEUE_RETENTION_SECONDS,
  QUEUE_VISIBILITY_SECONDS,
  queueName,
  type Size,
  SIZE_TITLE
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

  const ingestDeadLetter = new sst.aws.Queue("ImageUploadedDeadLetter", {
    transform: {
      queue: { name: ingestDeadLetterQueueName(stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
    }
  })
  const ingest = new sst.aws.Queue("ImageUploaded", {
    visibilityTimeout: `${INGEST_VISIBILITY_SECONDS} seconds`,
    // 5 receives, as the size queues: a throttled StartProcessing invocation counts one too.
    dlq: { queue: ingestDeadLetter.arn, retry: MAX_RECEIVES },
    transform: {
      queue: { name: ingestQueueName(stage), messageRetentionSeconds: QUEUE_RETENTION_SECONDS }
    }
  })

  return { bySize, deadLetter, ingest, ingestDeadLetter }
}

/**
 * The ingest queue's policy: S3 may send to it on behalf of the raw bucket of this account only
 * (`aws:SourceArn` and `aws:SourceAccount`, so no other bucket, and no bucket of that name in
 * another account, can post "uploads"). Written here rather than left to `Bucket.notify({ queue })`:
 * SST 4.17.1's `Queue.createPolicy` grants `sqs:SendMessage` to s3, sns and events.amazonaws.com
 * with no condition at all, and a queue has one policy, so two would overwrite each other.
 */
export function ingestQueuePolicy(ingest: sst.aws.Queue, raw: sst.aws.Bucket) {
  const accountId = aws.getCallerIdentityOutput().accountId
  return new aws.sqs.QueuePolicy("ImageUploadedPolicy", {
    queueUrl: ingest.url,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "RawBucketNotifications",
          Effect: "Allow",
          Principal: { Service: "s3.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: ingest.arn,
          Condition: {
            ArnEquals: { "aws:SourceArn": raw.arn },
            StringEquals: { "aws:SourceAccount": accountId }
          }
        }
      ]
    })
  })
}
