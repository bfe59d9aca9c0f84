/**
 * Server-sent events over any byte stream (a `fetch` body through `HttpClient`), parsed by
 * eventsource-parser: the same parser in Node and in browsers, where `EventSource` cannot send an
 * `Authorization` header.
 */
import { Stream } from "effect"
import { createParser, type EventSourceMessage } from "eventsource-parser"

export type { EventSourceMessage }

/** The events of a `text/event-stream` body, in order (comments and retry hints dropped). */
export const parseEvents = <E, R>(body: Stream.Stream<Uint8Array, E, R>): Stream.Stream<EventSourceMessage, E, R> =>
  Stream.suspend(() => {
    const parsed: Array<EventSourceMessage> = []
    const parser = createParser({ onEvent: (event) => parsed.push(event) })
    return body.pipe(
      Stream.decodeText(),
      Stream.mapConcat((text) => {
        parser.feed(text)
        return parsed.splice(0)
      })
    )
  })
