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

/** The SDK's error shape, without depending on one client's exception class. */
export interface AwsErrorInfo {
  readonly name: string
  readonly status: number | undefined
  readonly message: string
}

export const awsErrorInfo = (error: unknown): AwsErrorInfo => {
  if (typeof error === "object" && error !== null) {
    const record = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } }
    const status = record.$metadata?.httpStatusCode
    return {
      name: typeof record.name === "string" ? record.name : "Error",
      status: typeof status === "number" ? status : undefined,
      message: typeof record.message === "string" && record.message.length > 0 ? record.message : String(error)
    }
  }
  return { name: "Error", status: undefined, message: String(error) }
}

/** `name: message (HTTP status)`, short enough for a record's error column or a log line. */
export const describeAwsError = (error: unknown): string => {
  const info = awsErrorInfo(error)
  const text = `${info.name}: ${info.message}${info.status !== undefined ? ` (HTTP ${info.status})` : ""}`
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}
