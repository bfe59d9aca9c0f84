/** Settings of the size queues' consumers (the ProcessImage Lambda, the embedded workers). */
import { Config } from "effect"
import { positiveIntegerConfig } from "./integers.js"

/**
 * `IMGPIPE_MAX_RECEIVES`: deliveries of a job before it is dead-lettered (in AWS the queues'
 * redrive `maxReceiveCount`, which the infrastructure sets to the same number); the delivery that
 * reaches it is the last one. Default 3.
 */
export const maxReceivesConfig: Config.Config<number> = positiveIntegerConfig("IMGPIPE_MAX_RECEIVES", 3)

/**
 * `IMGPIPE_VISIBILITY_TIMEOUT_SECONDS`: how long a received job stays hidden from other receivers.
 * Each runtime that owns its queues has its own default (the embedded workers 60, the emulated SQS
 * queues of `start:aws-local` 30; in AWS the infrastructure sets the queues' own timeout).
 */
export const visibilityTimeoutSecondsConfig = (fallback: number): Config.Config<number> =>
  Config.integer("IMGPIPE_VISIBILITY_TIMEOUT_SECONDS").pipe(Config.withDefault(fallback))
