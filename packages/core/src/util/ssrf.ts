/**
 * The SSRF guard of webhook destinations (docs/webhooks.md, "Destinations"): `https` only, and no
 * destination whose host resolves to an address that is not public unicast (loopback, private,
 * link-local with the 169.254.169.254 metadata service, unique-local, CGNAT, multicast,
 * unspecified, reserved, IPv4-mapped or translated forms of those, …) — unless private
 * destinations are allowed (`IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true`, local development), which also
 * allows plain `http`. Checked at `POST /upload` and again before every delivery; the delivering
 * HTTP agent (`WebhookHttpClientLive`) checks the address it actually connects to as well, so a
 * name that resolves differently the second time (DNS rebinding) is still refused.
 */
import type { HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Context, Data, Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import ipaddr from "ipaddr.js"
import * as dns from "node:dns"
import type { LookupFunction } from "node:net"
import { WebhookSettings, WebhookSettingsLive } from "../config/webhooks.js"

/** A host name could not be resolved. */
export class ResolveError
  extends Data.TaggedError("ResolveError")<{ readonly host: string; readonly message: string }>
{}

/** Host name → addresses (all of them, IPv4 and IPv6). A service so tests can pin names to addresses. */
export class Resolver extends Context.Tag("imgpipe/Resolver")<
  Resolver,
  { readonly lookup: (host: string) => Effect.Effect<ReadonlyArray<string>, ResolveError> }
>() {}

/** The system resolver (`dns.lookup`, as a connection would resolve). */
export const NodeResolverLive: Layer.Layer<Resolver> = Layer.succeed(Resolver, {
  lookup: (host) =>
    Effect.tryPromise({
      try: () => dns.promises.lookup(host, { all: true, verbatim: true }),
      catch: (e) => new ResolveError({ host, message: e instanceof Error ? e.message : String(e) })
    }).pipe(Effect.map((entries) => entries.map((entry) => entry.address)))
})

/** For tests: a fixed table of names (an IP literal resolves to itself). */
export const fixedResolver = (table: Readonly<Record<string, ReadonlyArray<string>>>): Layer.Layer<Resolver> =>
  Layer.succeed(Resolver, {
    lookup: (host) => {
      if (ipaddr.isValid(host)) return Effect.succeed([host])
      const found = table[host.toLowerCase()]
      return found === undefined
        ? Effect.fail(new ResolveError({ host, message: "not found" }))
        : Effect.succeed(found)
    }
  })

/** Why an address is not a public destination, or undefined when it is one. */
export const nonPublicReason = (address: string): string | undefined => {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  }
  const range = parsed.range()
  // Everything ipaddr.js does not name is public unicast; every named range (loopback, private,
  // linkLocal, uniqueLocal, carrierGradeNat, multicast, unspecified, reserved, 6to4, teredo, …) is refused.
  return range === "unicast" ? undefined : `${parsed.toString()} is a ${range} address`
}

/** A webhook destination was refused; `message` says why (for the 400 at upload and `last_error`). */
export class DestinationRefused extends Data.TaggedError("DestinationRefused")<{ readonly message: string }> {}

/** The host of a URL as a resolver takes it (IPv6 literals without brackets). */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1")

/**
 * Checks a destination: a valid absolute URL, `https` (or `http` when private destinations are
 * allowed), no credentials in it, and every address its host resolves to public (unless allowed).
 */
export const checkDestination = (
  raw: string,
  options: { readonly allowPrivate: boolean }
): Effect.Effect<URL, DestinationRefused, Resolver> =>
  Effect.gen(function* () {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return yield* new DestinationRefused({ message: "callback_url is not an absolute URL" })
    }
    const schemes = options.allowPrivate ? ["https:", "http:"] : ["https:"]
    if (!schemes.includes(url.protocol)) {
      return yield* new DestinationRefused({
        message: options.allowPrivate
          ? `callback_url must be an http(s) URL, not ${url.protocol}`
          : `callback_url must be an https URL (plain http only with IMGPIPE_WEBHOOK_ALLOW_PRIVATE=true)`
      })
    }
    if (url.username !== "" || url.password !== "") {
      return yield* new DestinationRefused({ message: "callback_url must not carry credentials" })
    }
    if (options.allowPrivate) return url
    const host = hostOf(url)
    const addresses = yield* Effect.flatMap(Resolver, (resolver) => resolver.lookup(host)).pipe(
      Effect.mapError((e) =>
        new DestinationRefused({ message: `callback_url host ${host} does not resolve: ${e.message}` })
      )
    )
    if (addresses.length === 0) {
      return yield* new DestinationRefused({ message: `callback_url host ${host} does not resolve` })
    }
    for (const address of addresses) {
      const reason = nonPublicReason(address)
      if (reason !== undefined) {
        return yield* new DestinationRefused({
          message: `callback_url host ${host} resolves to a private or reserved address (${reason})`
        })
      }
    }
    return url
  })

/** `dns.lookup` for a connection that refuses any non-public address (the agent's last check). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) return callback(error, "", 0)
    const list = addresses as unknown as Array<dns.LookupAddress>
    const refused = list.map((entry) => nonPublicReason(entry.address)).find((reason) => reason !== undefined)
    if (refused !== undefined) {
      return callback(Object.assign(new Error(`refused destination: ${refused}`), { code: "EREFUSEDDEST" }), "", 0)
    }
    if (options.all === true) return (callback as unknown as (e: null, a: Array<dns.LookupAddress>) => void)(null, list)
    const first = list[0]
    return first === undefined
      ? callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 0)
      : callback(null, first.address, first.family)
  })
}

/**
 * The HTTP client webhooks are sent with: node:http(s) (no redirect is ever followed), with an
 * agent whose lookup refuses non-public addresses unless `allowPrivate`.
 */
export const webhookHttpClientLayer = (options: { readonly allowPrivate: boolean }) =>
  NodeHttpClient.layerWithoutAgent.pipe(
    Layer.provide(
      NodeHttpClient.makeAgentLayer(
        options.allowPrivate ? { keepAlive: true } : { keepAlive: true, lookup: publicOnlyLookup }
      )
    )
  )

/** What `deliverWebhook` needs besides the repositories and the queue, given the settings: the resolver and the HTTP client. */
export const WebhookTransportLive: Layer.Layer<Resolver | HttpClient.HttpClient, never, WebhookSettings> = Layer
  .unwrapEffect(
    Effect.map(
      WebhookSettings,
      (settings) => Layer.merge(NodeResolverLive, webhookHttpClientLayer({ allowPrivate: settings.allowPrivate }))
    )
  )

/**
 * The webhook settings from the environment, the system resolver and the guarded HTTP client:
 * everything `deliverWebhook` (and `requestUpload`'s callback check) needs except the
 * repositories and the queue. Every runtime provides it (API, Lambda, embedded runner).
 */
export const WebhookDeliveryLive: Layer.Layer<
  WebhookSettings | Resolver | HttpClient.HttpClient,
  ConfigError
> = WebhookTransportLive.pipe(Layer.provideMerge(WebhookSettingsLive))
