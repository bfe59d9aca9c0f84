/**
 * An in-memory PGlite database served on a loopback port for `start:aws-local`, with a URL the
 * runtimes can use as `DATABASE_URL` — the API in its own process, the handlers in this one, each
 * with its own pool, as they would connect to RDS Proxy.
 *
 * PGlite is one PostgreSQL session. Several client connections can share it only if their
 * exchanges never interleave: the extended query protocol is a sequence of messages
 * (Parse, Bind, Execute, Sync) and a second client's Parse in the middle replaces the first one's
 * unnamed statement ("unnamed prepared statement does not exist"). `@electric-sql/pglite-socket`
 * serializes per message (and per transaction), which is not enough (measured with 0.2.17: two pg
 * pools on its server fail at once with `portal "" does not exist`; electric-sql/pglite#1046, open),
 * and core's `PgliteLive` avoids the problem by having one connection. So this small server takes
 * a lock from a client's first message until PGlite answers ReadyForQuery outside a transaction:
 * one client's whole exchange (or whole transaction) at a time, everyone else queued. A client
 * that disconnects mid-transaction has it rolled back.
 *
 * In memory, because fauxqs keeps its objects and messages in memory too: a restart starts both
 * empty.
 */
import { PGlite } from "@electric-sql/pglite"
import { Effect, Redacted, type Scope } from "effect"
import { createServer, type Server, type Socket } from "node:net"
import { EmulatorError } from "./emulator.js"

const fail = (what: string) => (error: unknown) =>
  new EmulatorError({ message: `${what}: ${error instanceof Error ? error.message : String(error)}` })

const SSL_REQUEST = 80877103
const CANCEL_REQUEST = 80877102
const READY_FOR_QUERY = 0x5a // 'Z'
const IDLE = 0x49 // 'I'
const TERMINATE = 0x58 // 'X'

/** A FIFO lock: `acquire` resolves with the function that releases it. */
const makeLock = () => {
  let tail: Promise<void> = Promise.resolve()
  return {
    acquire: (): Promise<() => void> => {
      let release!: () => void
      const next = new Promise<void>((resolve) => (release = resolve))
      const ready = tail.then(() => release)
      tail = tail.then(() => next)
      return ready
    }
  }
}

/** Splits a client's byte stream into protocol messages (the first ones have no type byte). */
const takeMessage = (buffer: Buffer, started: boolean): { message: Buffer; rest: Buffer } | undefined => {
  if (!started) {
    if (buffer.length < 4) return undefined
    const length = buffer.readInt32BE(0)
    return buffer.length < length ? undefined : { message: buffer.subarray(0, length), rest: buffer.subarray(length) }
  }
  if (buffer.length < 5) return undefined
  const length = 1 + buffer.readInt32BE(1)
  return buffer.length < length ? undefined : { message: buffer.subarray(0, length), rest: buffer.subarray(length) }
}

/** Whether PGlite's answer ends a cycle with ReadyForQuery in the idle state. */
const endsIdle = (answer: Uint8Array): boolean =>
  answer.length >= 6 && answer[answer.length - 6] === READY_FOR_QUERY && answer[answer.length - 1] === IDLE

type Kind = "startup" | "ssl" | "cancel" | "message"

const serveConnections = (db: PGlite, server: Server, sockets: Set<Socket>) => {
  const lock = makeLock()
  server.on("connection", (socket: Socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    let buffer: Buffer = Buffer.alloc(0)
    let started = false
    let release: (() => void) | undefined
    // One message at a time per connection, in order.
    let work: Promise<void> = Promise.resolve()

    const run = async (kind: Kind, message: Buffer) => {
      if (kind === "ssl") return void socket.write("N")
      if (kind === "cancel") return void socket.end()
      if (kind === "message" && message[0] === TERMINATE) return void socket.end()
      release ??= await lock.acquire()
      const chunks: Array<Uint8Array> = []
      await db.runExclusive(() =>
        db.execProtocolRawStream(new Uint8Array(message), { onRawData: (data) => void chunks.push(data) })
      )
      const answer = Buffer.concat(chunks)
      if (answer.length > 0 && socket.writable) socket.write(answer)
      if (endsIdle(answer) && !db.isInTransaction()) {
        release()
        release = undefined
      }
    }

    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data])
      for (let next = takeMessage(buffer, started); next !== undefined; next = takeMessage(buffer, started)) {
        const { message, rest } = next
        buffer = rest
        let kind: Kind = "message"
        if (!started) {
          const code = message.length >= 8 ? message.readInt32BE(4) : 0
          kind = code === SSL_REQUEST ? "ssl" : code === CANCEL_REQUEST ? "cancel" : "startup"
          // After the startup message every message starts with a type byte.
          if (kind === "startup") started = true
        }
        work = work.then(() => run(kind, message)).catch(() => void socket.destroy())
      }
    })

    socket.on("close", () => {
      sockets.delete(socket)
      work = work.then(async () => {
        if (release === undefined) return
        if (db.isInTransaction()) await db.exec("ROLLBACK").catch(() => undefined)
        release()
        release = undefined
      })
    })
    socket.on("error", () => socket.destroy())
  })
}

/** Starts the database; its URL is valid until the scope closes. Loopback only, no password. */
export const servePglite: Effect.Effect<Redacted.Redacted<string>, EmulatorError, Scope.Scope> = Effect.gen(
  function* () {
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => PGlite.create("memory://"), catch: fail("open PGlite") }),
      (db) => Effect.promise(() => (db.closed ? Promise.resolve() : db.close()))
    )
    const sockets = new Set<Socket>()
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          new Promise<Server>((resolve, reject) => {
            const server = createServer()
            serveConnections(db, server, sockets)
            server.once("error", reject)
            server.listen(0, "127.0.0.1", () => resolve(server))
          }),
        catch: fail("serve PGlite")
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          // Pools keep their connections open; the process is stopping, so cut them.
          for (const socket of sockets) socket.destroy()
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return Redacted.make(`postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`)
  }
)
