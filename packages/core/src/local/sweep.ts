/**
 * Start-up sweep of temporary files a crash left behind: an upload or rendition killed between its
 * first byte and its commit leaves `<name>.<16 hex>.tmp` next to where its object would be, and a
 * start killed while writing the signing secret leaves `signing-secret.<16 hex>.tmp`. Only names of
 * exactly that form are removed (nothing else under the data folder is touched), and only those
 * last modified before this start, so a write that began since is never swept from under itself.
 */
import { Effect } from "effect"
import type { Dir } from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"

/** `<key segment>[.webp|.avif].<16 hex>.tmp`: what `tempPath` makes (keys are `[A-Za-z0-9_-]`, see keys.ts). */
const OBJECT_TEMP = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.(?:webp|avif))?\.[0-9a-f]{16}\.tmp$/
const SECRET_TEMP = /^signing-secret\.[0-9a-f]{16}\.tmp$/

/** Removes `path` if it is a file last modified before `before`; true when removed. */
const removeIfStale = async (path: string, before: number): Promise<boolean> => {
  const info = await NodeFs.lstat(path).catch(() => undefined)
  if (info === undefined || !info.isFile() || info.mtimeMs >= before) return false
  await NodeFs.rm(path, { force: true })
  return true
}

/** Walks `dir` (streaming: a store of a million objects is never listed in memory at once). */
const sweepTree = async (dir: string, before: number): Promise<number> => {
  let opened: Dir
  try {
    opened = await NodeFs.opendir(dir)
  } catch {
    return 0
  }
  let removed = 0
  for await (const entry of opened) {
    const path = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) removed += await sweepTree(path, before)
    else if (entry.isFile() && OBJECT_TEMP.test(entry.name) && (await removeIfStale(path, before))) removed++
  }
  return removed
}

/**
 * Removes our stale temporaries under `<dataDir>/objects` and the signing-secret temporary in
 * `<dataDir>`; returns how many. Failures are logged, never fatal: a leftover costs disk, not data.
 */
export const sweepTemporaries = (dataDir: string, startedAt: number): Effect.Effect<number> =>
  Effect.tryPromise(async () => {
    let removed = await sweepTree(NodePath.join(dataDir, "objects"), startedAt)
    for (const name of await NodeFs.readdir(dataDir).catch((): Array<string> => [])) {
      if (SECRET_TEMP.test(name) && (await removeIfStale(NodePath.join(dataDir, name), startedAt))) removed++
    }
    return removed
  }).pipe(
    Effect.tap((removed) =>
      removed > 0 ? Effect.logInfo("removed temporary files left by an earlier stop", { removed }) : Effect.void
    ),
    Effect.catchAll((error) =>
      Effect.logWarning("sweeping temporary files failed; they stay until the next start", { error: String(error) })
        .pipe(
          Effect.as(0)
        )
    )
  )
