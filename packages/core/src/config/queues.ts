/** Settings of the size queues' consumers (the ProcessImage Lambda, the embedded workers). */
import type { Config } from "effect"
import { positiveIntegerConfig } from "./integers.js"

/**
 * `IMGPIPE_MAX_RECEIVES`: deliveries of a job before it is dead-lettered (in AWS the queues'
 * redrive `maxReceiveCount`, which the infrastructure sets to the same number); the delivery that
 * reaches it is the last one. Default 3.
 */
export const maxReceivesConfig: Config.Config<number> = positiveIntegerConfig("IMGPIPE_MAX_RECEIVES", 3)
