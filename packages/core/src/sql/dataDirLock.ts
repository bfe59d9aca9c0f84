/**
 * The embedded database's data-directory lock. PGlite has no cross-process locking: two processes
 * on one data directory (say `bun run migrate` while `bun run start` is up) corrupt it. A
 * `<dir>.lock` file names its owner: `<pid> <start time>`, the start time being field 22 of
 * `/proc/<pid>/stat` (clock ticks since boot) where Linux has it.
 *
 * A lock is stale, and taken over, when its process is gone, or when the pid is alive but started
 * at another time than the lock says (the pid was reused after a crash: containers restart at pid 1,
 * a busy machine cycles pids). Comparing pids means nothing across machines or containers sharing a
 * volume: the embedded mode is one process on one machine.
 */
import { Effect, Schema } from "effect"
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseError } from "../domain/errors.js"

/** Another live process holds the data directory. */
export class DataDirInUse extends Schema.TaggedError<DataDirInUse>()("DataDirInUse", {
  dataDir: Schema.String,
  pid: Schema.Number,
  message: Schema.String
}) {}

/** Data directories this process has open: PGlite must never open one twice. */
const openDataDirs = new Set<string>()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** A process's start time from /proc (Linux), or undefined where that is not available. */
export const processStartTime = (pid: number | "self"): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return fields[19] // field 22 overall
  } catch {
    return undefined
  }
}

interface Holder {
  readonly pid: number
  readonly start: string | undefined
}

const parseHolder = (text: string): Holder | undefined => {
  const [pid, start] = text.trim().split(/\s+/)
  const n = Number.parseInt(pid ?? "", 10)
  return Number.isInteger(n) && n > 0
    ? { pid: n, start: start === undefined || start === "" ? undefined : start }
    : undefined
}

/** Whether the lock's owner is still running (same pid, same start time when both are known). */
const holds = (holder: Holder): boolean => {
  if (holder.pid === process.pid) return false // our own pid is a leftover: we checked openDataDirs
  if (!isAlive(holder.pid)) return false
  if (holder.start === undefined) return true
  const now = processStartTime(holder.pid)
  return now === undefined || now === holder.start
}

const readLock = (path: string): string => {
  try {
    return readFileSync(path, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return ""
    throw error
  }
}

/**
 * Moves a stale lock aside without ever removing a fresh one: the file is renamed to a name of
 * our own (atomic), and if what we moved is not the content we judged stale (another process took
 * the lock over in between), it is linked back.
 */
const removeStale = (path: string, judged: string): boolean => {
  const aside = `${path}.stale-${process.pid}`
  try {
    renameSync(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return true
    throw error
  }
  const moved = readLock(aside)
  if (moved !== judged) {
    try {
      linkSync(aside, path)
    } catch {
      // Someone else created a lock meanwhile: theirs stands.
    }
    unlinkSync(aside)
    return false
  }
  unlinkSync(aside)
  return true
}

const lockError = (cause: unknown) =>
  cause instanceof DataDirInUse
    ? cause
    : new DatabaseError({
      operation: "lock embedded database",
      message: cause instanceof Error ? cause.message : String(cause)
    })

/** Takes the lock of `dataDir` (an absolute path) for the scope; releases it when the scope closes. */
export const lockDataDir = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (openDataDirs.has(dataDir)) {
          throw new Error(`the embedded database ${dataDir} is already open in this process`)
        }
        mkdirSync(dirname(dataDir), { recursive: true })
        const lockPath = `${dataDir}.lock`
        const start = processStartTime("self")
        const mine = start === undefined ? String(process.pid) : `${process.pid} ${start}`
        for (let attempt = 0;; attempt++) {
          try {
            writeFileSync(lockPath, mine, { flag: "wx" })
            break
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
          }
          const content = readLock(lockPath)
          const holder = parseHolder(content)
          if (holder !== undefined && holds(holder)) {
            throw new DataDirInUse({
              dataDir,
              pid: holder.pid,
              message: `the embedded database ${dataDir} is in use by process ${holder.pid}`
            })
          }
          if (!removeStale(lockPath, content) && attempt >= 2) {
            throw new Error(`could not take over the stale lock ${lockPath}`)
          }
          if (attempt >= 5) throw new Error(`could not take the lock ${lockPath}`)
        }
        openDataDirs.add(dataDir)
        return lockPath
      },
      catch: lockError
    }),
    (lockPath) =>
      Effect.sync(() => {
        openDataDirs.delete(dataDir)
        try {
          unlinkSync(lockPath)
        } catch {
          // Already gone: nothing to release.
        }
      })
  )
