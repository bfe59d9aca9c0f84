/**
 * How an `@effect-aws` failure reads in a StorageError / QueueError message: the service's error
 * code, its message and the HTTP status; an error the client does not model by its body's `Code`.
 */
import { describe, expect, it } from "@effect/vitest"
import { describeAwsError, httpStatus, thrownFailure } from "../src/aws/config.js"

describe("describeAwsError", () => {
  it("a modelled service error: its tag, message and HTTP status", () => {
    const error = {
      _tag: "NoSuchBucket",
      message: "The specified bucket does not exist",
      $metadata: { httpStatusCode: 404 }
    }
    expect(httpStatus(error)).toBe(404)
    expect(describeAwsError(error)).toBe("NoSuchBucket: The specified bucket does not exist (HTTP 404)")
  })

  it("an error the client does not model (SdkError) is named by the response's Code", () => {
    const error = {
      _tag: "SdkError",
      message: "Please reduce your request rate.",
      Code: "SlowDown",
      $metadata: { httpStatusCode: 503 }
    }
    expect(describeAwsError(error)).toBe("SlowDown: Please reduce your request rate. (HTTP 503)")
  })

  it("no response at all: no status, the tag names it", () => {
    expect(describeAwsError({ _tag: "SdkError", message: "connect ECONNREFUSED 127.0.0.1:1" })).toBe(
      "SdkError: connect ECONNREFUSED 127.0.0.1:1"
    )
    expect(describeAwsError({ _tag: "TimeoutException", message: "" })).toBe("TimeoutException: TimeoutException")
  })

  it("a thrown error (a body stream failing) reads the same way; long text is cut at 300 characters", () => {
    expect(describeAwsError(thrownFailure(new TypeError("terminated")))).toBe("TypeError: terminated")
    expect(describeAwsError(thrownFailure("boom"))).toBe("Error: boom")
    const long = describeAwsError({ _tag: "SdkError", message: "x".repeat(400) })
    expect(long).toHaveLength(301)
    expect(long.endsWith("…")).toBe(true)
  })
})
