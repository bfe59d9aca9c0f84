/**
 * Settings shared by the AWS clients. Region, endpoint and keys are the AWS SDK's own variables,
 * read here through `Config` so the same code runs against AWS, an emulator or a test (with a
 * `ConfigProvider`) without any other switch.
 *
 * Credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), as Lambda
 * sets them for its role, are passed to the client as they are, `Redacted` until then. Without
 * them the SDK's default chain applies (the ECS task role through the container endpoint).
 */
import { Config, Option, Redacted } from "effect"
import { isHttpUrl } from "../util/url.js"

export interface AwsKeys {
  readonly accessKeyId: Redacted.Redacted<string>
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken: Option.Option<Redacted.Redacted<string>>
}

export interface AwsClientConfig {
  /** `AWS_REGION`; none lets the SDK resolve it (Lambda and ECS always set it). */
  readonly region: Option.Option<string>
  /**
   * `AWS_ENDPOINT_URL`: an emulator (fauxqs, LocalStack…). When set, S3 uses path-style
   * addressing, since `<bucket>.127.0.0.1` does not resolve.
   */
  readonly endpoint: Option.Option<string>
  /** Keys from the environment; none means the SDK's default provider chain. */
  readonly credentials: Option.Option<AwsKeys>
}

const nonEmpty = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((value) => value.trim().length > 0)))

const secret = (name: string) =>
  Config.option(Config.redacted(name)).pipe(
    Config.map(Option.filter((value) => Redacted.value(value).trim().length > 0))
  )

const keysConfig: Config.Config<Option.Option<AwsKeys>> = Config.all({
  accessKeyId: secret("AWS_ACCESS_KEY_ID"),
  secretAccessKey: secret("AWS_SECRET_ACCESS_KEY"),
  sessionToken: secret("AWS_SESSION_TOKEN")
}).pipe(
  Config.map(({ accessKeyId, secretAccessKey, sessionToken }) =>
    Option.all({ accessKeyId, secretAccessKey }).pipe(Option.map((keys) => ({ ...keys, sessionToken })))
  )
)

export const awsClientConfig: Config.Config<AwsClientConfig> = Config.all({
  region: nonEmpty("AWS_REGION"),
  endpoint: nonEmpty("AWS_ENDPOINT_URL").pipe(
    Config.validate({
      message: "AWS_ENDPOINT_URL must be an http(s) URL",
      validation: Option.match({ onNone: () => true, onSome: isHttpUrl })
    })
  ),
  credentials: keysConfig
})

export interface ClientOptions {
  region?: string
  endpoint?: string
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

/** The options every SDK client gets from `AwsClientConfig` (only the ones that are set). */
export const clientOptions = (config: AwsClientConfig): ClientOptions => ({
  ...Option.match(config.region, { onNone: () => ({}), onSome: (region) => ({ region }) }),
  ...Option.match(config.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
  ...Option.match(config.credentials, {
    onNone: () => ({}),
    onSome: (keys) => ({
      credentials: {
        accessKeyId: Redacted.value(keys.accessKeyId),
        secretAccessKey: Redacted.value(keys.secretAccessKey),
        ...Option.match(keys.sessionToken, {
          onNone: () => ({}),
          onSome: (token) => ({ sessionToken: Redacted.value(token) })
        })
      }
    })
  })
})

/**
 * How an `@effect-aws` call fails: a tagged exception whose `_tag` is the service's error code
 * (`NoSuchKey`, `NotFound`…), `SdkError` (network, unmodelled errors), or `TimeoutException`.
 * The service's exceptions keep the SDK's `$metadata`, whose HTTP status the text shows.
 */
export interface AwsFailure {
  readonly _tag: string
  readonly message: string
}

/** The HTTP status of the response that failed, when there was one. */
export const httpStatus = (error: AwsFailure): number | undefined => {
  const metadata: unknown = "$metadata" in error ? error.$metadata : undefined
  const status: unknown = typeof metadata === "object" && metadata !== null && "httpStatusCode" in metadata
    ? metadata.httpStatusCode
    : undefined
  return typeof status === "number" ? status : undefined
}

/** A thrown error (not from a call: e.g. a body stream failing) in the same shape. */
export const thrownFailure = (error: unknown): AwsFailure =>
  error instanceof Error ? { _tag: error.name, message: error.message } : { _tag: "Error", message: String(error) }

/**
 * The service's error code: the tag, or for an error the client does not model (tagged `SdkError`)
 * the `Code` of the response's body when it had one (e.g. S3's `SlowDown`).
 */
const errorCode = (error: AwsFailure): string =>
  error._tag === "SdkError" && "Code" in error && typeof error.Code === "string" && error.Code.length > 0
    ? error.Code
    : error._tag

/** `code: message (HTTP status)`, short enough for a record's error column or a log line. */
export const describeAwsError = (error: AwsFailure): string => {
  const status = httpStatus(error)
  const message = error.message.length > 0 ? error.message : error._tag
  const text = `${errorCode(error)}: ${message}${status !== undefined ? ` (HTTP ${status})` : ""}`
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

/** An SQS queue URL setting: http(s), with a path. */
export const sqsQueueUrlConfig = (name: string): Config.Config<string> =>
  Config.string(name).pipe(
    Config.map((value) => value.trim()),
    Config.validate({
      message: `${name} must be an SQS queue URL`,
      validation: (value) => {
        try {
          const url = new URL(value)
          return (url.protocol === "https:" || url.protocol === "http:") && url.pathname.length > 1
        } catch {
          return false
        }
      }
    })
  )
