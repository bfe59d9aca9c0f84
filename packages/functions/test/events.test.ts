/**
 * Reading the event JSON AWS sends: the examples are AWS's own documented shapes (S3 notification
 * event version 2.1, the s3:TestEvent, the SQS event of Lambda's event source mapping), so the
 * parsers are checked against what arrives in AWS, not against our emulator's output alone.
 */
import { describe, expect, it } from "@effect/vitest"
import { decodeS3Key, parseS3Event, parseSqsEvent, parseStartProcessingEvent } from "../src/events.js"
import { encodeS3EventKey } from "../src/local/event-sources.js"

const ID = "0190a0b0-0000-7000-8000-0000000000aa"

/** One record as S3 sends it (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html). */
const s3Record = (key: string, overrides: { eventName?: string; size?: number } = {}) => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  awsRegion: "us-west-2",
  eventTime: "1970-01-01T00:00:00.000Z",
  eventName: overrides.eventName ?? "ObjectCreated:Put",
  userIdentity: { principalId: "AWS:AIDAINPONIXQXHT3IKHL2" },
  requestParameters: { sourceIPAddress: "205.255.255.255" },
  responseElements: {
    "x-amz-request-id": "D82B88E5F771F645",
    "x-amz-id-2": "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo="
  },
  s3: {
    s3SchemaVersion: "1.0",
    configurationId: "828aa6fc-f7b5-4305-8584-487c791949c1",
    bucket: {
      name: "raw-image-prod",
      ownerIdentity: { principalId: "A3I5XTEXAMAI3E" },
      arn: "arn:aws:s3:::raw-image-prod"
    },
    object: {
      key,
      ...(overrides.size === undefined && overrides.eventName?.startsWith("ObjectRemoved")
        ? {}
        : { size: overrides.size ?? 1305107 }),
      eTag: "b21b84d653bb07b05b1e6b33684dc11b",
      sequencer: "0C0F6F405D6ED209E1"
    }
  }
})

/** As Lambda's SQS event source mapping delivers it (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). */
const sqsRecord = (messageId: string, body: string, receiveCount = "1") => ({
  messageId,
  receiptHandle: "MessageReceiptHandle",
  body,
  attributes: {
    ApproximateReceiveCount: receiveCount,
    SentTimestamp: "1523232000000",
    SenderId: "123456789012",
    ApproximateFirstReceiveTimestamp: "1523232000001"
  },
  messageAttributes: {},
  md5OfBody: "7b270e59b47ff90a553787216d55d91d",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:process-small-image-prod",
  awsRegion: "us-east-1"
})

describe("S3 ObjectCreated events", () => {
  it("reads every record: image ids, form-encoded keys with + for spaces, sizes", () => {
    const parsed = parseS3Event({
      Records: [
        s3Record(ID, { size: 2048 }),
        s3Record("holiday+photo+%281%29.jpg"),
        s3Record(ID.toUpperCase(), { eventName: "ObjectCreated:CompleteMultipartUpload", size: 5 }),
        s3Record("a%2Bb+c%2Fd.jpg")
      ]
    })
    expect(parsed).toEqual([
      { _tag: "Created", bucket: "raw-image-prod", event: { key: ID, bytes: 2048 } },
      { _tag: "Created", bucket: "raw-image-prod", event: { key: "holiday photo (1).jpg", bytes: 1305107 } },
      { _tag: "Created", bucket: "raw-image-prod", event: { key: ID.toUpperCase(), bytes: 5 } },
      { _tag: "Created", bucket: "raw-image-prod", event: { key: "a+b c/d.jpg", bytes: 1305107 } }
    ])
  })

  it("skips other events, broken encodings and records without a size", () => {
    expect(
      parseS3Event({
        Records: [
          s3Record(ID, { eventName: "ObjectRemoved:Delete" }),
          s3Record("bad%zzkey"),
          { eventName: "ObjectCreated:Put", s3: { bucket: { name: "b" }, object: { key: ID } } },
          { something: "else" }
        ]
      }).map((r) => (r._tag === "Skipped" ? r.reason : r._tag))
    ).toEqual([
      "event ObjectRemoved:Delete",
      "key is not valid URL encoding",
      "record has no object size",
      "malformed S3 record"
    ])
  })

  it("the s3:TestEvent S3 sends when notifications are configured has nothing to do; non-events are refused", () => {
    expect(
      parseS3Event({
        Service: "Amazon S3",
        Event: "s3:TestEvent",
        Time: "2014-10-13T15:57:02.089Z",
        Bucket: "raw-image-prod",
        RequestId: "5582815E1AEA5ADF",
        HostId: "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
      })
    ).toEqual([])
    expect(parseS3Event("nope")).toEqual([{ _tag: "Skipped", reason: "not an S3 notification" }])
  })

  it("decoding inverts the emulator's encoding, and undefined for broken input", () => {
    for (const key of [ID, "holiday photo (1).jpg", "a+b/c d%.jpg", "ünïcødé ✓.png"]) {
      expect(decodeS3Key(encodeS3EventKey(key))).toBe(key)
    }
    expect(encodeS3EventKey("holiday photo (1).jpg")).toBe("holiday+photo+%281%29.jpg")
    expect(decodeS3Key("%E0%A4%A")).toBeUndefined()
  })
})

describe("SQS events", () => {
  it("reads each job with its receive count; malformed bodies are reported, not thrown", () => {
    const job = { image_id: ID, raw_key: ID, size: "medium" }
    const parsed = parseSqsEvent({
      Records: [
        sqsRecord("m1", JSON.stringify(job), "2"),
        sqsRecord("m2", "test"),
        sqsRecord("m3", JSON.stringify({ ...job, size: "huge" })),
        sqsRecord("m4", JSON.stringify(job), "not a number"),
        { messageId: 7 }
      ]
    })
    expect(parsed).toEqual([
      { _tag: "Job", messageId: "m1", job, receiveCount: 2 },
      { _tag: "Malformed", messageId: "m2", reason: "body is not a job { image_id, raw_key, size }", body: "test" },
      {
        _tag: "Malformed",
        messageId: "m3",
        reason: "body is not a job { image_id, raw_key, size }",
        body: JSON.stringify({ ...job, size: "huge" })
      },
      { _tag: "Job", messageId: "m4", job, receiveCount: 1 },
      { _tag: "Malformed", messageId: undefined, reason: "malformed SQS record" }
    ])
    expect(parseSqsEvent({})).toEqual([{ _tag: "Malformed", messageId: undefined, reason: "not an SQS event" }])
  })
})

describe("StartProcessing's two event shapes", () => {
  it("an SQS batch of the ingest queue: S3 notifications in the bodies, the test event, malformed bodies", () => {
    const notification = { Records: [s3Record(ID, { size: 77 }), s3Record(ID, { eventName: "ObjectRemoved:Delete" })] }
    const testEvent = {
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: "2014-10-13T15:57:02.089Z",
      Bucket: "raw-image-prod"
    }
    const parsed = parseStartProcessingEvent({
      Records: [
        {
          ...sqsRecord("n1", JSON.stringify(notification)),
          eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:image-uploaded-prod"
        },
        sqsRecord("t1", JSON.stringify(testEvent)),
        sqsRecord("j1", JSON.stringify({ image_id: ID, raw_key: ID, size: "small" })),
        sqsRecord("x1", "{ not json"),
        { eventSource: "aws:sqs", messageId: 7 }
      ]
    })
    expect(parsed).toEqual({
      _tag: "Sqs",
      messages: [
        {
          _tag: "Notification",
          messageId: "n1",
          records: [
            { _tag: "Created", bucket: "raw-image-prod", event: { key: ID, bytes: 77 } },
            { _tag: "Skipped", reason: "event ObjectRemoved:Delete", key: ID }
          ]
        },
        { _tag: "TestEvent", messageId: "t1" },
        {
          _tag: "Malformed",
          messageId: "j1",
          reason: "body is not an S3 notification",
          body: JSON.stringify({ image_id: ID, raw_key: ID, size: "small" })
        },
        { _tag: "Malformed", messageId: "x1", reason: "body is not an S3 notification", body: "{ not json" },
        { _tag: "Malformed", messageId: undefined, reason: "malformed SQS record" }
      ]
    })
  })

  it("a direct S3 event (and S3's test event, and anything else) is read as S3's notification", () => {
    expect(parseStartProcessingEvent({ Records: [s3Record(ID, { size: 5 })] })).toEqual({
      _tag: "S3",
      records: [{ _tag: "Created", bucket: "raw-image-prod", event: { key: ID, bytes: 5 } }]
    })
    expect(parseStartProcessingEvent({ Event: "s3:TestEvent", Bucket: "raw-image-prod" })).toEqual({
      _tag: "S3",
      records: []
    })
    expect(parseStartProcessingEvent("nope")).toEqual({
      _tag: "S3",
      records: [{ _tag: "Skipped", reason: "not an S3 notification" }]
    })
  })
})
