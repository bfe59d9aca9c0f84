/**
 * Evaluating `sst.config.ts` against the recording fakes (sst-fakes.ts), and reading what they
 * recorded; shared by the topology tests.
 */
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { expect, vi } from "vitest"
import { installSstFakes, type Recorded, type Recorder, resolveDeep } from "./sst-fakes.js"

export const root = resolve(import.meta.dirname, "../../../..")

// ---- reading recorded arguments ---------------------------------------------------------------

export type Json = Readonly<Record<string, unknown>>
export const obj = (value: unknown): Json => {
  expect(value, "expected an object").toBeTypeOf("object")
  expect(value).not.toBeNull()
  return value as Json
}
export const arr = (value: unknown): ReadonlyArray<unknown> => {
  expect(Array.isArray(value), `expected an array, got ${JSON.stringify(value)}`).toBe(true)
  return value as ReadonlyArray<unknown>
}
export const str = (value: unknown): string => {
  expect(value).toBeTypeOf("string")
  return value as string
}
export const at = (value: unknown, ...path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>(
    (inner, key) => (inner !== null && typeof inner === "object" ? (inner as Json)[key] : undefined),
    value
  )

/** `"60 seconds"`, `"10 minutes"` → seconds (the SST duration strings this config uses). */
export const seconds = (duration: unknown): number => {
  const match = /^(\d+) (second|minute|hour)s?$/.exec(str(duration))
  expect(match, `unparsed duration ${String(duration)}`).not.toBeNull()
  const [, count, unit] = match ?? []
  return Number(count) * (unit === "hour" ? 3600 : unit === "minute" ? 60 : 1)
}

// ---- evaluating sst.config.ts -----------------------------------------------------------------

interface AppConfig {
  readonly name: string
  readonly home: string
  readonly version?: string
  readonly removal?: string
  readonly protect?: boolean
}
interface SstConfig {
  readonly app: (input: { readonly stage: string }) => AppConfig
  readonly run: () => Promise<unknown>
}
const isSstConfig = (value: unknown): value is SstConfig =>
  value !== null && typeof value === "object" && "app" in value && "run" in value

export interface Evaluation {
  readonly app: AppConfig
  readonly outputs: Json
  readonly recorder: Recorder
}

export interface EvaluateOptions {
  readonly dev?: boolean
  /** Values set with `sst secret set`; by default ApiKeys and WebhookSecret are set. */
  readonly secrets?: Readonly<Record<string, string>>
  /** Committed settings (packages/infra/settings.ts) replaced for this evaluation. */
  readonly settings?: Readonly<Record<string, unknown>>
}

const SETTINGS = join(root, "packages/infra/settings.ts")
/** A stage's committed domain, as an operator would set it (prod refuses to deploy without). */
export const WITH_DOMAINS = { API_DOMAINS: { prod: "api.example.com" } }

export const evaluate = async (stage: string, options: EvaluateOptions = {}): Promise<Evaluation> => {
  const secrets = options.secrets ?? {
    ApiKeys: "secret-value-of-ApiKeys",
    WebhookSecret: "secret-value-of-WebhookSecret",
    AdminKeys: "secret-value-of-AdminKeys"
  }
  const recorder = installSstFakes({ stage, root, dev: options.dev ?? false, secrets })
  // Fresh modules, so that settings.ts is read again, replaced or not.
  vi.resetModules()
  vi.doUnmock(SETTINGS)
  const overrides = options.settings
  if (overrides) vi.doMock(SETTINGS, async (original) => ({ ...(await original<object>()), ...overrides }))
  // A computed specifier: the root tsconfig must not follow it into files typed by SST's globals.
  const module: { readonly default?: unknown } = await import(pathToFileURL(join(root, "sst.config.ts")).href)
  const config = module.default
  if (!isSstConfig(config)) throw new Error("sst.config.ts must `export default $config({ app, run })`")
  const app = config.app({ stage })
  const outputs = obj(resolveDeep(await config.run()))
  return { app, outputs, recorder }
}

/** The per-stage queries the tests use. */
export const queries = (e: Evaluation) => {
  const ofKind = (kind: string) => e.recorder.ofKind(kind)
  const named = (kind: string, name: string) => e.recorder.named(kind, name)
  const functionByArn = (arn: unknown): Recorded => {
    const found = ofKind("sst.aws.Function").find((f) => at(f.instance, "arn", "value") === arn)
    if (!found) throw new Error(`no function with ARN ${String(arn)}`)
    return found
  }
  return { ofKind, named, functionByArn }
}
