/**
 * The admin API's policy as the ECS API composes it (`ApiServices`: `AdminAuthorizationKeys` over
 * `IMGPIPE_ADMIN_KEYS`), on a real server and database: off without admin keys (even bound to
 * loopback: only the embedded runner opens it there), keys required with them. The endpoints
 * themselves are tested on the embedded runner (packages/local/test/admin.test.ts) and the SQS
 * statistics on fauxqs (packages/core/test/aws-sqs-queue-admin.test.ts).
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { EcsServer, makeEcsServer, TestDatabase } from "./support/ecs.js"

const get = (path: string, key?: string) =>
  Effect.gen(function* () {
    const { baseUrl } = yield* EcsServer
    return yield* Effect.promise(async () => {
      const res = await fetch(`${baseUrl}${path}`, {
        headers: key === undefined ? {} : { authorization: `Bearer ${key}` }
      })
      return { status: res.status, json: (await res.json()) as unknown }
    })
  })

layer(TestDatabase, { excludeTestServices: true, timeout: 120_000 })((it) => {
  it.layer(makeEcsServer(), { timeout: 60_000 })("ECS API without admin keys", (it) => {
    it.effect("answers 403 admin_disabled, whatever the key", () =>
      Effect.gen(function* () {
        for (const key of [undefined, "anything"]) {
          const answer = yield* get("/admin/images", key)
          expect(answer.status).toBe(403)
          expect(answer.json).toEqual({
            error: "admin_disabled",
            message: expect.stringContaining("IMGPIPE_ADMIN_KEYS")
          })
        }
      }))
  })

  it.layer(makeEcsServer({ IMGPIPE_ADMIN_KEYS: "admin-1", IMGPIPE_API_KEYS: "upload-1" }), { timeout: 60_000 })(
    "ECS API with admin keys",
    (it) => {
      it.effect("401 without a key or with an unknown one, 403 forbidden with an upload key, 200 with an admin key", () =>
        Effect.gen(function* () {
          expect(yield* get("/admin/images")).toMatchObject({ status: 401, json: { error: "unauthorized" } })
          expect(yield* get("/admin/images", "nope")).toMatchObject({ status: 401, json: { error: "unauthorized" } })
          expect(yield* get("/admin/images", "upload-1")).toMatchObject({ status: 403, json: { error: "forbidden" } })
          expect(yield* get("/admin/images?status=failed", "admin-1")).toEqual({
            status: 200,
            json: { images: [], next_cursor: null }
          })
          // The upload key still works where it belongs; the admin key is not an upload key.
          expect((yield* get("/images/0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10", "upload-1")).status).toBe(404)
          expect((yield* get("/images/0190f1a4-7a9b-7c3d-8e2f-3b5a1c9d2e10", "admin-1")).status).toBe(401)
        }))
    }
  )
})
