import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, LogLevel } from "effect"
import { dataDirConfig, logLevelConfig, LogLevelLive, portConfig, positiveIntegerConfig } from "../src/config.js"
import { RejectionCode } from "../src/domain/errors.js"
import {
  canonicalContentType,
  isRejected,
  isRejectionCode,
  isValidExpiresIn,
  MAX_EXPIRES_IN_SECONDS,
  mediaType
} from "../src/domain/rules.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("rejection", () => {
  it("every rejection code is one, processing_failed and null are not", () => {
    for (const code of RejectionCode.literals) expect(isRejectionCode(code)).toBe(true)
    expect(isRejectionCode("processing_failed")).toBe(false)
    expect(isRejectionCode(null)).toBe(false)
  })

  it("an image is rejected only when failed with a rejection code", () => {
    expect(isRejected({ status: "failed", errorCode: "not_an_image" })).toBe(true)
    expect(isRejected({ status: "failed", errorCode: "processing_failed" })).toBe(false)
    expect(isRejected({ status: "failed", errorCode: null })).toBe(false)
    // A code on an image that is not failed (never written so, but the rule does not assume it).
    expect(isRejected({ status: "processing", errorCode: "not_an_image" })).toBe(false)
    expect(isRejected({ status: "ready", errorCode: null })).toBe(false)
  })
})

describe("content types", () => {
  it("mediaType drops parameters, trims and lower-cases", () => {
    expect(mediaType("image/JPEG; charset=x")).toBe("image/jpeg")
    expect(mediaType("  Image/PNG ")).toBe("image/png")
    expect(mediaType("")).toBe("")
  })

  it("canonicalContentType keeps parameters", () => {
    expect(canonicalContentType(" Image/JPEG; Charset=X ")).toBe("image/jpeg; charset=x")
    expect(canonicalContentType("image/png")).toBe("image/png")
  })
})

describe("signed URL lifetimes", () => {
  it("1..7 days in whole seconds", () => {
    expect(MAX_EXPIRES_IN_SECONDS).toBe(604_800)
    expect(isValidExpiresIn(1)).toBe(true)
    expect(isValidExpiresIn(MAX_EXPIRES_IN_SECONDS)).toBe(true)
    expect(isValidExpiresIn(MAX_EXPIRES_IN_SECONDS + 1)).toBe(false)
    expect(isValidExpiresIn(0)).toBe(false)
    expect(isValidExpiresIn(-5)).toBe(false)
    expect(isValidExpiresIn(1.5)).toBe(false)
    expect(isValidExpiresIn(Number.NaN)).toBe(false)
  })
})

describe("runtime settings", () => {
  it.effect("defaults", () =>
    Effect.gen(function* () {
      expect(yield* portConfig).toBe(3000)
      expect(yield* logLevelConfig).toEqual(LogLevel.Info)
      expect(yield* dataDirConfig).toBe("./.imgpipe")
      expect(yield* positiveIntegerConfig("IMGPIPE_X", 7)).toBe(7)
    }).pipe(withEnv({})))

  it.effect("values from the environment", () =>
    Effect.gen(function* () {
      expect(yield* portConfig).toBe(8080)
      expect(yield* logLevelConfig).toEqual(LogLevel.Warning)
      expect(yield* dataDirConfig).toBe("/data")
      expect(yield* positiveIntegerConfig("IMGPIPE_X", 7)).toBe(3)
    }).pipe(withEnv({ PORT: "8080", IMGPIPE_LOG_LEVEL: "WARN", IMGPIPE_DATA_DIR: "/data", IMGPIPE_X: "3" })))

  it.effect("a positive integer setting names the variable when wrong", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(positiveIntegerConfig("IMGPIPE_X", 7))
      expect(String(error)).toContain("IMGPIPE_X must be a positive integer")
    }).pipe(withEnv({ IMGPIPE_X: "0" })))

  it.effect("LogLevelLive sets the minimum log level of what it is provided to", () =>
    Effect.gen(function* () {
      const messages: Array<unknown> = []
      const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => messages.push(message)))
      yield* Effect.logInfo("dropped").pipe(
        Effect.zipRight(Effect.logWarning("kept")),
        Effect.provide(Layer.merge(LogLevelLive, capture))
      )
      expect(messages.flat()).toEqual(["kept"])
    }).pipe(withEnv({ IMGPIPE_LOG_LEVEL: "WARN" })))
})
