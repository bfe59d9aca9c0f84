/**
 * The shapes Lambda hands a function, built as AWS builds them, and one invocation with Lambda's
 * timeout: what the event-source emulator (event-sources.ts) and the tests use to call the real
 * handlers.
 */
import type { Message } from "@aws-sdk/client-sqs"
import type { Context as LambdaContext, S3EventRecord, SQSRecord } from "aws-lambda"
import { Duration, Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { CreatedObject } from "./emulator.js"

/** A Lambda handler as Lambda calls it. */
export type LambdaFunction<E, R> = (event: E, context: LambdaContext) => Promise<R>

// ---- event shapes -----------------------------------------------------------------------------

/**
 * S3 encodes keys in notifications like an HTML form value (Java's `URLEncoder`): a space becomes
 * `+`, other characters outside `A-Za-z0-9-_.*` become `%XX`; `/` is left as it is.
 */
export const encodeS3EventKey = (key: string): string =>
  encodeURIComponent(key)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, "/")
    .replace(/%20/g, "+")

let sequence = 0n

/** One record of an S3 ObjectCreated notification, as S3 sends it (event version 2.1). */
export const s3EventRecord = (object: CreatedObject, region: string): S3EventRecord => {
  sequence += 1n
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: region,
    eventTime: object.time.toISOString(),
    eventName: object.eventName,
    userIdentity: { principalId: "AWS:AIDAEMULATOR" },
    requestParameters: { sourceIPAddress: object.sourceIp },
    responseElements: { "x-amz-request-id": object.requestId, "x-amz-id-2": "fauxqs" },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "imgpipe-start-processing",
      bucket: {
        name: object.bucket,
        ownerIdentity: { principalId: "A3EMULATOR" },
        arn: `arn:aws:s3:::${object.bucket}`
      },
      object: {
        key: encodeS3EventKey(object.key),
        size: object.size,
        eTag: object.eTag,
        // Hex, increasing per key in S3; increasing overall here.
        sequencer: (BigInt(object.time.getTime()) * 1000n + sequence).toString(16).toUpperCase().padStart(18, "0")
      }
    }
  }
}

/** One record of the SQS event Lambda's event source mapping builds from a received message. */
export const sqsEventRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId ?? "",
  receiptHandle: message.ReceiptHandle ?? "",
  body: message.Body ?? "",
  attributes: {
    ApproximateReceiveCount: message.Attributes?.["ApproximateReceiveCount"] ?? "1",
    SentTimestamp: message.Attributes?.["SentTimestamp"] ?? String(Date.now()),
    SenderId: message.Attributes?.["SenderId"] ?? "000000000000",
    ApproximateFirstReceiveTimestamp: message.Attributes?.["ApproximateFirstReceiveTimestamp"] ?? String(Date.now())
  },
  // As Lambda hands them over: the sender's attributes (e.g. `traceparent`), camel-cased.
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, {
      dataType: value.DataType ?? "String",
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      stringListValues: [],
      binaryListValues: []
    }])
  ),
  md5OfBody: message.MD5OfBody ?? "",
  eventSource: "aws:sqs",
  eventSourceARN: queueArn,
  awsRegion: region
})

/** The `context` argument Lambda passes, for a function with `timeoutMs`. */
export const lambdaContext = (functionName: string, region: string, timeoutMs: number): LambdaContext => {
  const deadline = Date.now() + timeoutMs
  const requestId = randomUUID()
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `emulator/[$LATEST]/${requestId.replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined
  }
}

// ---- invoking ---------------------------------------------------------------------------------

export interface InvokeOptions {
  readonly functionName: string
  readonly region: string
  /** The function's timeout: an invocation running longer counts as failed (Lambda would kill it). */
  readonly timeoutMs: number
}

/** One invocation; fails with the handler's error (or a timeout), as Lambda reports it. */
export const invoke = <E, R>(fn: LambdaFunction<E, R>, event: E, options: InvokeOptions) =>
  Effect.tryPromise({
    try: () => fn(event, lambdaContext(options.functionName, options.region, options.timeoutMs)),
    catch: (error) => (error instanceof Error ? error.message : String(error))
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(options.timeoutMs),
      onTimeout: () => `timed out after ${options.timeoutMs} ms`
    })
  )

/** The message S3 posts to a queue once, when the notification configuration is saved. */
export const s3TestEvent = (bucket: string, time: Date = new Date()) => ({
  Service: "Amazon S3",
  Event: "s3:TestEvent",
  Time: time.toISOString(),
  Bucket: bucket,
  RequestId: randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase(),
  HostId: "fauxqs"
})
