/**
 * Test support: in-memory layers of every core service, for fast use-case tests (no database, no
 * storage, no sharp). Import as `@imgpipe/core/testing`. Each `make…` returns the service, the
 * state a test inspects or switches, and (`makeMemoryServices`) one layer of them all.
 */
import { ConfigProvider, Layer } from "effect"
import { ReconcileSettings, reconcileSettingsConfig, Settings, settingsConfig } from "../config.js"
import { JobQueue } from "../services/JobQueue.js"
import { ObjectStorage } from "../services/ObjectStorage.js"
import { Resizer } from "../services/Resizer.js"
import { makeFakeResizer } from "./fakeResizer.js"
import { makeMemoryImages } from "./memoryImages.js"
import { makeMemoryQueue } from "./memoryQueue.js"
import { makeMemoryStorage } from "./memoryStorage.js"

export * from "./fakeResizer.js"
export * from "./makeTestLayer.js"
export * from "./memoryChangeFeed.js"
export * from "./memoryImages.js"
export * from "./memoryQueue.js"
export * from "./memoryStorage.js"

/**
 * `Settings` and `ReconcileSettings` as the runtimes read them, from `env` (variable → value)
 * instead of the environment: the defaults unless a test names a variable.
 */
export const testSettingsLayer = (env: Readonly<Record<string, string>> = {}) =>
  Layer.mergeAll(Layer.effect(Settings, settingsConfig), Layer.effect(ReconcileSettings, reconcileSettingsConfig)).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
    Layer.orDie
  )

export interface MemoryServicesOptions {
  /** Settings variables (e.g. `IMGPIPE_KEEP_ORIGINALS: "false"`); the defaults otherwise. */
  readonly env?: Readonly<Record<string, string>>
  /** The queue can tell which images have live jobs (the embedded queue) or not (SQS). */
  readonly canTellLiveJobs?: boolean
  readonly maxPixels?: number
}

/**
 * Every core service in memory, and the settings: `layer` provides `ImageRepository`,
 * `ReconcileRepository`, `ObjectStorage`, `JobQueue`, `Resizer`, `Settings` and
 * `ReconcileSettings`. Make one per test: the state lives in the returned objects.
 */
export const makeMemoryServices = (options: MemoryServicesOptions = {}) => {
  const images = makeMemoryImages()
  const storage = makeMemoryStorage()
  const queue = makeMemoryQueue(
    options.canTellLiveJobs === undefined ? {} : { canTellLiveJobs: options.canTellLiveJobs }
  )
  const resizer = makeFakeResizer(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels })
  const layer = Layer.mergeAll(
    images.layer,
    Layer.succeed(ObjectStorage, storage.service),
    Layer.succeed(JobQueue, queue.service),
    Layer.succeed(Resizer, resizer.service),
    testSettingsLayer(options.env)
  )
  return { images, storage, queue, resizer, layer }
}

export type MemoryServices = ReturnType<typeof makeMemoryServices>
