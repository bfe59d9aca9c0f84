import { Context, Effect, Layer } from "effect"

/**
 * A member the test did not provide: calling it (or running it, for an Effect-valued member such
 * as `ImageRepository.ping`) dies with the service's and the member's name, so a use case that
 * reaches for a service it should not touch fails loudly instead of hanging or passing by chance.
 */
const unimplemented = (service: string, member: PropertyKey): unknown => {
  const dead = Effect.dieMessage(`${service}.${String(member)} was not expected in this test`)
  const call = () => dead
  // Both a function returning the dead effect and that effect itself (Effect-TS/examples' trick).
  return Object.assign(Object.setPrototypeOf(call, Object.getPrototypeOf(dead)) as object, dead)
}

/**
 * A test double of `tag`'s service from the members a test provides; any other member dies when
 * used (Effect-TS/examples `lib/Layer.ts` `makeTestLayer`).
 */
export const makeTestService = <I, S extends object>(tag: Context.Tag<I, S>, service: Partial<S>): S =>
  new Proxy(service as S, {
    get: (target, member) =>
      member in target
        ? Reflect.get(target, member)
        : typeof member === "symbol"
        ? undefined
        : unimplemented(tag.key, member)
  })

/** `makeTestService` as a layer: `makeTestLayer(ObjectStorage)({ presignDownload: … })`. */
export const makeTestLayer = <I, S extends object>(tag: Context.Tag<I, S>) => (service: Partial<S>): Layer.Layer<I> =>
  Layer.succeed(tag, makeTestService(tag, service))
