/**
 * A minimal server-sent events reader over `fetch`, for tests: it records every event and comment
 * line as they arrive, and when the stream ends.
 */

export interface SseEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string
  readonly retry: number | undefined
}

export interface SseConnection {
  readonly status: number
  readonly headers: Headers
  /** Events so far, in order. */
  readonly events: Array<SseEvent>
  /** Comment lines so far (without the leading colon), e.g. " keepalive". */
  readonly comments: Array<string>
  /** Resolves when the server ended the stream (not when `close` was called). */
  readonly ended: Promise<void>
  /** Whether the server ended the stream. */
  readonly isEnded: () => boolean
  /** Waits until `predicate` holds over the events (or fails after `timeoutMs`). */
  readonly waitFor: (predicate: (events: ReadonlyArray<SseEvent>) => boolean, timeoutMs?: number) => Promise<void>
  /** Disconnects (as a browser tab closing). */
  readonly close: () => void
  /** The body as text when the answer was not a stream (an error). */
  readonly text: () => Promise<string>
}

const parseBlock = (block: string, comments: Array<string>): SseEvent | undefined => {
  let id: string | undefined
  let event: string | undefined
  let retry: number | undefined
  const data: Array<string> = []
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      comments.push(line.slice(1))
      continue
    }
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
    if (field === "id") id = value
    else if (field === "event") event = value
    else if (field === "data") data.push(value)
    else if (field === "retry") retry = Number(value)
  }
  if (data.length === 0 && event === undefined && id === undefined && retry === undefined) return undefined
  return { id, event, data: data.join("\n"), retry }
}

export const openSse = async (url: string, headers: Record<string, string> = {}): Promise<SseConnection> => {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal })
  const events: Array<SseEvent> = []
  const comments: Array<string> = []
  let ended = false
  const isStream = response.ok && (response.headers.get("content-type") ?? "").startsWith("text/event-stream")
  const done = (async () => {
    if (!isStream || response.body === null) return
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += value
        let cut = buffer.indexOf("\n\n")
        while (cut !== -1) {
          const parsed = parseBlock(buffer.slice(0, cut), comments)
          if (parsed !== undefined) events.push(parsed)
          buffer = buffer.slice(cut + 2)
          cut = buffer.indexOf("\n\n")
        }
      }
      ended = true
    } catch {
      // aborted by `close`
    }
  })()
  const endedByServer = done.then(() => {
    if (!ended) throw new Error("the stream was closed by the client, not ended by the server")
  })
  // Only a test that awaits it cares; a stream the test closes itself must not count as unhandled.
  endedByServer.catch(() => {})
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    ended: endedByServer,
    isEnded: () => ended,
    waitFor: async (predicate, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs
      while (!predicate(events)) {
        if (Date.now() > deadline) {
          throw new Error(`timed out; events so far: ${JSON.stringify(events.map((e) => e.data))}`)
        }
        await new Promise((r) => setTimeout(r, 10))
      }
    },
    close: () => controller.abort(),
    text: () => (isStream ? Promise.resolve("") : response.text())
  }
}
