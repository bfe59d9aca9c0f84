import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Effect, Layer, Option, ParseResult, Schema } from "effect"
import { QueueError } from "../domain/errors.js"
import { ImageId } from "../domain/ids.js"
import { ProcessJob } from "../domain/image.js"
import { ImageSize } from "../domain/sizes.js"
import { currentTraceparent } from "../observability/traceContext.js"
import { JobQueue } from "../services/JobQueue.js"
import { describeSqlError, Int8 } from "../sql/rows.js"
import { type DeadJob, LocalQueue, type QueueDepth, type ReceivedJob, type ReceiveOptions } from "./LocalQueue.js"

/**
 * `LocalQueue` (LocalQueue.ts) on PostgreSQL tables: one `jobs` table partitioned by the `queue`
 * column, and `dead_jobs`. All times are the database's `now()`, so several processes (or a
 * restart) agree on what is visible.
 */

// ---- rows ---------------------------------------------------------------------------------------

const ClaimedRow = Schema.Struct({
  id: Schema.String,
  queue: ImageSize,
  body: Schema.Unknown,
  receive_count: Schema.Int,
  traceparent: Schema.NullOr(Schema.String)
})

const DeadRow = Schema.Struct({
  id: Schema.String,
  queue: ImageSize,
  body: Schema.Unknown,
  receive_count: Schema.Int,
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.DateFromSelf,
  moved_at: Schema.DateFromSelf
})

const DepthRow = Schema.Struct({ visible: Int8, not_visible: Int8, dead: Int8 })

const decodeClaimed = Schema.decodeUnknown(Schema.Array(ClaimedRow))
const decodeImageIds = Schema.decodeUnknown(Schema.Array(Schema.Struct({ image_id: ImageId })))
const decodeDead = Schema.decodeUnknown(Schema.Array(DeadRow))
const decodeDepth = Schema.decodeUnknown(DepthRow)
const decodeJob = Schema.decodeUnknownEither(ProcessJob)
const encodeJob = Schema.encode(ProcessJob)

/** Ids are `bigint` identities, handed out as decimal strings. */
const JOB_ID = /^[1-9][0-9]{0,18}$/

/** The table queues' SQL and decoding failures, as the `QueueError` of `operation`. */
export const queueError = (operation: string) => (error: SqlError.SqlError | ParseResult.ParseError): QueueError =>
  new QueueError({
    operation,
    message: error._tag === "SqlError"
      ? describeSqlError(error)
      : `unexpected row: ${ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 500)}`
  })

const seconds = (operation: string, value: number): Effect.Effect<number, QueueError> =>
  Number.isFinite(value) && value >= 0
    ? Effect.succeed(value)
    : Effect.fail(new QueueError({ operation, message: `seconds must be a finite number >= 0, got ${value}` }))

const jobId = (operation: string, id: string): Effect.Effect<string, QueueError> =>
  JOB_ID.test(id) ? Effect.succeed(id) : Effect.fail(new QueueError({ operation, message: `not a job id: ${id}` }))

// ---- implementation -----------------------------------------------------------------------------

export const make = Effect.gen(function* () {
  // Raw column names whatever transforms the shared client was built with.
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()

  const send = (jobs: ReadonlyArray<ProcessJob>) =>
    Effect.gen(function* () {
      if (jobs.length === 0) return
      const traceparent = Option.getOrNull(yield* currentTraceparent)
      const rows = yield* Effect.forEach(jobs, (job) =>
        Effect.map(encodeJob(job), (body) => ({ queue: job.size, body: JSON.stringify(body), traceparent })))
      yield* sql`INSERT INTO jobs ${sql.insert(rows)}`
    }).pipe(Effect.mapError(queueError("send")), Effect.withSpan("LocalQueue.send"))

  // A job in `jobs` is live: waiting, in flight, or (receives used up) about to move to
  // `dead_jobs` at the next receive, which the next reconcile run sees. Not indexed by image: this
  // runs once per reconcile period over at most a batch of ids, and an index would cost every
  // send and delete of the hot path.
  const imagesWithLiveJobs = (ids: ReadonlyArray<ImageId>) =>
    ids.length === 0
      ? Effect.succeed(new Set<ImageId>())
      : sql`
          SELECT DISTINCT body->>'image_id' AS image_id FROM jobs
          WHERE body->>'image_id' = ANY(${ids.map(String)}::text[])`.pipe(
        Effect.flatMap(decodeImageIds),
        Effect.map((rows): ReadonlySet<ImageId> => new Set(rows.map((row) => row.image_id))),
        Effect.mapError(queueError("imagesWithLiveJobs")),
        Effect.withSpan("LocalQueue.imagesWithLiveJobs")
      )

  /** Straight to `dead_jobs`: a job whose body no worker could ever read. */
  const deadLetterNow = (ids: ReadonlyArray<string>, reason: string) =>
    sql`
      WITH moved AS (
        DELETE FROM jobs WHERE id = ANY(${ids}::bigint[])
        RETURNING id, queue, body, receive_count, created_at, traceparent
      )
      INSERT INTO dead_jobs (id, queue, body, receive_count, last_error, created_at, traceparent)
      SELECT id, queue, body, receive_count, ${reason}::text, created_at, traceparent FROM moved
      ON CONFLICT (id) DO NOTHING`

  const receive = (size: ImageSize, options: ReceiveOptions) =>
    Effect.gen(function* () {
      const timeout = yield* seconds("receive", options.visibilityTimeoutSeconds)
      const max = Math.max(0, Math.floor(options.max))
      const maxReceives = Math.max(1, Math.floor(options.maxReceives))
      if (max === 0) return []

      // One statement, so one snapshot and one transaction: the exhausted jobs move out, and the
      // claimable ones (by construction disjoint from them) are locked, skipping rows another
      // receiver holds, then made invisible. PostgreSQL re-checks `visible_at` on a row whose
      // lock it had to wait for, so a job claimed meanwhile is not claimed twice.
      const claimed = yield* sql`
        WITH exhausted AS (
          DELETE FROM jobs
          WHERE id IN (
            SELECT id FROM jobs
            WHERE queue = ${size} AND visible_at <= now() AND receive_count >= ${maxReceives}
            FOR UPDATE SKIP LOCKED
          )
          RETURNING id, queue, body, receive_count, last_error, created_at, traceparent
        ),
        dead AS (
          INSERT INTO dead_jobs (id, queue, body, receive_count, last_error, created_at, traceparent)
          SELECT id, queue, body, receive_count, last_error, created_at, traceparent FROM exhausted
          ON CONFLICT (id) DO NOTHING
        ),
        claimable AS (
          SELECT id FROM jobs
          WHERE queue = ${size} AND visible_at <= now() AND receive_count < ${maxReceives}
          ORDER BY visible_at, id
          LIMIT ${max}
          FOR UPDATE SKIP LOCKED
        )
        UPDATE jobs
        SET receive_count = jobs.receive_count + 1,
            visible_at = now() + make_interval(secs => ${timeout})
        FROM claimable
        WHERE jobs.id = claimable.id
        RETURNING jobs.id::text AS id, jobs.queue, jobs.body, jobs.receive_count, jobs.traceparent`.pipe(
        Effect.flatMap(decodeClaimed)
      )

      const received: Array<ReceivedJob> = []
      const malformed: Array<string> = []
      for (const row of [...claimed].sort((a, b) => Number(a.id) - Number(b.id))) {
        const body = decodeJob(row.body)
        if (body._tag === "Right") {
          received.push({
            id: row.id,
            size: row.queue,
            body: body.right,
            receiveCount: row.receive_count,
            ...(row.traceparent !== null ? { traceparent: row.traceparent } : {})
          })
        } else {
          malformed.push(row.id)
        }
      }
      if (malformed.length > 0) {
        yield* deadLetterNow(malformed, "malformed job body")
        yield* Effect.logWarning("malformed jobs moved to the dead-letter table").pipe(
          Effect.annotateLogs({ queue: size, job_ids: malformed })
        )
      }
      return received
    }).pipe(
      Effect.mapError((error) => (error._tag === "QueueError" ? error : queueError("receive")(error))),
      Effect.withSpan("LocalQueue.receive", { attributes: { queue: size } })
    )

  const delete_ = (id: string) =>
    jobId("delete", id).pipe(
      Effect.flatMap((id) => sql`DELETE FROM jobs WHERE id = ${id}::bigint`),
      Effect.asVoid,
      Effect.mapError((error) => (error._tag === "QueueError" ? error : queueError("delete")(error))),
      Effect.withSpan("LocalQueue.delete")
    )

  const changeVisibility = (id: string, options: { readonly delaySeconds: number; readonly error?: string }) =>
    Effect.gen(function* () {
      const validId = yield* jobId("changeVisibility", id)
      const delay = yield* seconds("changeVisibility", options.delaySeconds)
      yield* sql`
        UPDATE jobs
        SET visible_at = now() + make_interval(secs => ${delay}),
            last_error = COALESCE(${options.error ?? null}::text, last_error)
        WHERE id = ${validId}::bigint`
    }).pipe(
      Effect.mapError((error) => (error._tag === "QueueError" ? error : queueError("changeVisibility")(error))),
      Effect.withSpan("LocalQueue.changeVisibility")
    )

  const listDeadLetters = (size?: ImageSize) =>
    sql`
      SELECT id::text AS id, queue, body, receive_count, last_error, created_at, moved_at
      FROM dead_jobs
      ${size === undefined ? sql`` : sql`WHERE queue = ${size}`}
      ORDER BY moved_at, id`.pipe(
      Effect.flatMap(decodeDead),
      Effect.map((rows) =>
        rows.map(
          (row): DeadJob => ({
            id: row.id,
            size: row.queue,
            body: Option.getRight(decodeJob(row.body)),
            receiveCount: row.receive_count,
            lastError: row.last_error,
            createdAt: row.created_at,
            movedAt: row.moved_at
          })
        )
      ),
      Effect.mapError(queueError("listDeadLetters")),
      Effect.withSpan("LocalQueue.listDeadLetters")
    )

  // The job keeps its id (its identity in logs) and its last error; the receive count restarts.
  const redrive = (size: ImageSize) =>
    sql<{ readonly id: string }>`
      WITH moved AS (
        DELETE FROM dead_jobs WHERE queue = ${size}
        RETURNING id, queue, body, last_error, created_at, traceparent
      )
      INSERT INTO jobs (id, queue, body, receive_count, visible_at, last_error, created_at, traceparent)
      OVERRIDING SYSTEM VALUE
      SELECT id, queue, body, 0, now(), last_error, created_at, traceparent FROM moved
      RETURNING id::text AS id`.pipe(
      Effect.map((rows) => rows.length),
      Effect.mapError(queueError("redrive")),
      Effect.withSpan("LocalQueue.redrive", { attributes: { queue: size } })
    )

  const depth = (size: ImageSize) =>
    sql`
      SELECT count(*) FILTER (WHERE visible_at <= now()) AS visible,
             count(*) FILTER (WHERE visible_at > now()) AS not_visible,
             (SELECT count(*) FROM dead_jobs WHERE queue = ${size}) AS dead
      FROM jobs
      WHERE queue = ${size}`.pipe(
      Effect.flatMap((rows) => decodeDepth(rows[0])),
      Effect.map((row): QueueDepth => ({ visible: row.visible, notVisible: row.not_visible, dead: row.dead })),
      Effect.mapError(queueError("depth"))
    )

  return LocalQueue.of({
    send,
    imagesWithLiveJobs,
    receive,
    delete: delete_,
    changeVisibility,
    listDeadLetters,
    redrive,
    depth
  })
})

/** The table queues, as the embedded runner's `LocalQueue` and as the use cases' `JobQueue`. */
export const LocalQueueLive: Layer.Layer<LocalQueue | JobQueue, never, SqlClient.SqlClient> = Layer.effectContext(
  Effect.map(make, (queue) =>
    Context.make(LocalQueue, queue).pipe(Context.add(
      JobQueue,
      JobQueue.of({
        send: queue.send,
        imagesWithLiveJobs: (ids) => Effect.map(queue.imagesWithLiveJobs(ids), Option.some)
      })
    )))
)
