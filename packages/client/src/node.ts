/**
 * `@imgpipe/client` in Node: everything the universal entry has, and `upload(path)` reading the
 * file (its content type from the extension unless given).
 */
import { readFile } from "node:fs/promises"
import type { ClientOptions } from "./ImgpipeClient.js"
import { type ImgpipeClientPromise, makePromiseClient } from "./promise.js"

export * from "./index.js"

const readBytes = async (path: string): Promise<Uint8Array> => new Uint8Array(await readFile(path))

/** The Promise client; `upload` also takes a file path. */
export const createClient = (options: ClientOptions): ImgpipeClientPromise => makePromiseClient(options, readBytes)
