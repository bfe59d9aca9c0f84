import { SqlClient } from "@effect/sql"
import { Config, type ConfigError, Duration, Effect, Layer, Option, Schema } from "effect"
import { ImageId } from "../domain/ids.js"
import { ChangeFeed, type ImageChange, type PollChanges } from "../services/ChangeFeed.js"
import { ImageRepository } from "../services/ImageRepository.js"
import { makePollingChangeFeed } from "../util/pollingChangeFeed.js"
import { toDatabaseError } from "./rows.js"

/**
 * `IMGPIPE_CHANGE_FEED_INTERVAL`: how often the change feed polls while any event stream is open,
 * i.e. the longest a change waits before the streams send it.
 */
export const changeFeedIntervalConfig: Config.Config<Duration.Duration> = Config.duration(
  "IMGPIPE_CHANGE_FEED_INTERVAL"
).pipe(
  Config.withDefault(Duration.millis(250)),
  Config.validate({
    message: "IMGPIPE_CHANGE_FEED_INTERVAL must be a duration of at least 10 millis, e.g. \"250 millis\"",
    validation: (d) => Duration.greaterThanOrEqualTo(d, Duration.millis(10))
  })
)

const Fingerprints = Schema.Array(Schema.Struct({ id: ImageId, fingerprint: Schema.String, known: Schema.String }))

/** How many changed images are read back at once (each a `find`: the image and its renditions). */
const READ_CONCURRENCY = 4

/**
 * Rows written this recently (by their `updated_at`, the writing transaction's start) are
 * fingerprinted at every tick; older ones only at every `FULL_EVERY`th tick. A write is seen at once
 * unless its transaction ran longer than this before committing, and then at the next full tick.
 */
const RECENT_SECONDS = 60
const FULL_EVERY = 40

/**
 * One poll as one query, however many images are watched. The fingerprint of a watched image is
 * the md5 of its `images` row and its `renditions` rows as text (every column, so any write that
 * changes what the status JSON shows changes it, whatever the order in which concurrent
 * transactions commit); the feed keeps the last one per image and only differing ones count. To
 * keep the tick cheap with a thousand idle streams, only images never polled (`known` = '') or
 * written in the last `RECENT_SECONDS` are fingerprinted, and every image at every `FULL_EVERY`th
 * tick (10 s at the default 250 ms). Every lookup is by primary key (`images.id`,
 * `renditions (image_id, size)`), so no index is needed. The changed images are then read with
 * `ImageRepository.find`, so the feed sends exactly what `GET /images/{id}` shows.
 */
export const makeSqlPoll = Effect.gen(function* () {
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const repository = yield* ImageRepository
  const decode = Schema.decodeUnknown(Fingerprints)
  let ticks = 0

  const poll: PollChanges = (watched) =>
    Effect.gen(function* () {
      const full = ticks++ % FULL_EVERY === 0
      const ids = watched.map((w) => w.id)
      // '' for "never seen": no md5 equals it, and no NULL has to cross the array encoding.
      const known = watched.map((w) => w.fingerprint ?? "")
      const rows = yield* sql`
        SELECT i.id::text AS id, t.known,
               md5(i::text || coalesce(
                 (SELECT string_agg(r::text, '|' ORDER BY r.size) FROM renditions r WHERE r.image_id = i.id),
                 '')) AS fingerprint
        FROM unnest(${ids}::uuid[], ${known}::text[]) AS t(id, known)
        JOIN images i ON i.id = t.id
        WHERE ${full} OR t.known = ''
          OR i.updated_at > now() - make_interval(secs => ${RECENT_SECONDS})
          OR EXISTS (SELECT 1 FROM renditions r
                     WHERE r.image_id = i.id AND r.updated_at > now() - make_interval(secs => ${RECENT_SECONDS}))`
        .pipe(Effect.flatMap(decode))
      const changes = yield* Effect.forEach(
        rows.filter((row) => row.fingerprint !== row.known),
        ({ fingerprint, id }) =>
          Effect.map(repository.find(id), Option.map((view): ImageChange => ({ id, fingerprint, view }))),
        { concurrency: READ_CONCURRENCY }
      )
      return changes.flatMap(Option.toArray)
    }).pipe(
      Effect.mapError((error) => (error._tag === "DatabaseError" ? error : toDatabaseError("changeFeed")(error))),
      Effect.withSpan("ChangeFeed.poll")
    )
  return poll
})

/** `ChangeFeed` over the database (PostgreSQL or PGlite), polling every `IMGPIPE_CHANGE_FEED_INTERVAL`. */
export const ChangeFeedSql: Layer.Layer<
  ChangeFeed,
  ConfigError.ConfigError,
  SqlClient.SqlClient | ImageRepository
> = Layer.scoped(
  ChangeFeed,
  Effect.gen(function* () {
    const interval = yield* changeFeedIntervalConfig
    return yield* makePollingChangeFeed({ interval, poll: yield* makeSqlPoll })
  })
)
