/**
 * A TCP proxy the test controls, in front of a database: `cut()` destroys every open connection and
 * refuses new ones (as a database outage looks to its clients), `restore()` forwards again.
 */
import { connect, createServer, type Socket } from "node:net"

export interface TcpProxy {
  readonly port: number
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  let up = true
  const open = new Set<Socket>()
  const track = (socket: Socket) => {
    open.add(socket)
    socket.on("close", () => open.delete(socket))
    socket.on("error", () => socket.destroy())
  }
  const server = createServer((client) => {
    track(client)
    if (!up) {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on("close", () => upstream.destroy())
    upstream.on("close", () => client.destroy())
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("proxy has no port")
  return {
    port: address.port,
    cut: () => {
      up = false
      for (const socket of open) socket.destroy()
    },
    restore: () => {
      up = true
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of open) socket.destroy()
        server.close(() => done())
      })
  }
}
