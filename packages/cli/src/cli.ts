/**
 * `imgpipe`: the operations CLI over `@imgpipe/client`. Results go to stdout (the API's JSON with
 * `--json`), progress and errors to stderr. Exit codes: 0 ok, 1 failure (an API error, an image
 * that failed), 2 usage (bad flags or arguments).
 */
import { Args, Command, Options, ValidationError } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import {
  type ClientOptions,
  type ImageSize,
  type ImageStatus,
  ImgpipeClient,
  type ImgpipeClientService,
  ImgpipeError
} from "@imgpipe/client"
import { contentTypeFromName } from "@imgpipe/client/contentType"
import { Config, Console, Effect, Option, Redacted, Schema } from "effect"
import { age, parseAge, servedSizes, statusReport, table } from "./format.js"
import { makeBars } from "./progress.js"

/** A usage error found after parsing (exit 2), e.g. a malformed --api URL. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}
/** Failures already reported line by line (exit 1). */
export class Reported extends Schema.TaggedError<Reported>()("Reported", { message: Schema.String }) {}

const SIZE_CHOICES = ["small", "medium", "large"] as const
const FORMAT_CHOICES = ["jpeg", "webp", "avif", "auto"] as const
const STATUS_CHOICES = ["awaiting_upload", "processing", "ready", "failed", "expired"] as const

// The options every command takes (after the command name, like its own).
const common = {
  api: Options.text("api").pipe(
    Options.withDescription("API base URL (default: IMGPIPE_API_URL, else http://localhost:3000)"),
    Options.optional
  ),
  key: Options.redacted("key").pipe(
    Options.withDescription("upload API key (default: IMGPIPE_API_KEY)"),
    Options.optional
  ),
  adminKey: Options.redacted("admin-key").pipe(
    Options.withDescription("admin key (default: IMGPIPE_ADMIN_KEY)"),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("machine output: the API's JSON on stdout"))
}
type Common = {
  readonly api: Option.Option<string>
  readonly key: Option.Option<Redacted.Redacted>
  readonly adminKey: Option.Option<Redacted.Redacted>
  readonly json: boolean
}

/** The client the flags (or the environment) describe. */
const clientOf = (flags: Common) =>
  Effect.gen(function* () {
    const api = Option.isSome(flags.api)
      ? flags.api.value
      : yield* Config.string("IMGPIPE_API_URL").pipe(Config.withDefault("http://localhost:3000"), Effect.orDie)
    if (!URL.canParse(api) || !/^https?:$/.test(new URL(api).protocol)) {
      return yield* new UsageError({ message: `--api must be an http(s) URL, got ${JSON.stringify(api)}` })
    }
    // An empty variable counts as unset.
    const fromEnv = (name: string) =>
      Config.option(Config.redacted(name)).pipe(
        Effect.orDie,
        Effect.map(Option.filter((key) => Redacted.value(key) !== ""))
      )
    const options: ClientOptions = {
      baseUrl: api,
      apiKey: Option.getOrUndefined(Option.isSome(flags.key) ? flags.key : yield* fromEnv("IMGPIPE_API_KEY")),
      adminKey: Option.getOrUndefined(
        Option.isSome(flags.adminKey) ? flags.adminKey : yield* fromEnv("IMGPIPE_ADMIN_KEY")
      )
    }
    return options
  })

/** Runs `body` with the client of the flags. */
const withClient = <A, E, R>(flags: Common, body: (client: ImgpipeClientService) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    clientOf(flags),
    (options) => Effect.flatMap(ImgpipeClient, body).pipe(Effect.provide(ImgpipeClient.layer(options)))
  )

const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

// upload <files…> [--wait] [--concurrency N] [--content-type T]
const upload = Command.make(
  "upload",
  {
    ...common,
    files: Args.file({ name: "file", exists: "yes" }).pipe(Args.atLeast(1)),
    wait: Options.boolean("wait").pipe(Options.withDescription("wait until each image is ready (or failed)")),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("files uploaded at once"),
      Options.withDefault(4)
    ),
    callbackUrl: Options.text("callback-url").pipe(
      Options.withDescription("https URL to POST each image's signed webhook to when it is done"),
      Options.optional
    ),
    contentType: Options.text("content-type").pipe(
      Options.withDescription("content type of every file (default: from each file's extension)"),
      Options.optional
    )
  },
  (flags) =>
    withClient(flags, (client) =>
      Effect.scoped(Effect.gen(function* () {
        if (flags.concurrency < 1) return yield* new UsageError({ message: "--concurrency must be 1 or more" })
        const fs = yield* FileSystem.FileSystem
        const bars = yield* makeBars(!flags.json)
        const one = (file: string) =>
          Effect.gen(function* () {
            const data = yield* fs.readFile(file).pipe(
              Effect.mapError((e) => new ImgpipeError({ code: "file_unreadable", message: `${file}: ${e.message}` }))
            )
            const bar = bars.add(file.split(/[\\/]/).pop() ?? file, data.byteLength)
            const image_id = yield* client.upload(data, {
              name: file,
              contentType: Option.getOrElse(flags.contentType, () => contentTypeFromName(file)),
              callbackUrl: Option.getOrUndefined(flags.callbackUrl),
              onProgress: bar.bytes
            })
            if (!flags.wait) {
              bar.state("uploaded")
              return { file, image_id, status: undefined as ImageStatus | undefined }
            }
            bar.state("processing")
            const status = yield* client.waitUntilReady(image_id, {
              onStatus: (s) =>
                bar.state(
                  `${s.status} (${Object.values(s.renditions).filter((r) => r.status === "ready").length}/3 sizes)`
                )
            }).pipe(Effect.tapError((e) => Effect.sync(() => bar.state(`failed: ${e.code}`))))
            bar.state("ready")
            return { file, image_id, status }
          }).pipe(
            Effect.mapError((error) => ({ file, error })),
            Effect.either
          )
        const results = yield* Effect.forEach(flags.files, one, { concurrency: flags.concurrency })
        return results
      })).pipe(
        Effect.flatMap((results) =>
          Effect.gen(function* () {
            const ok = results.flatMap((r) => (r._tag === "Right" ? [r.right] : []))
            const failed = results.flatMap((r) => (r._tag === "Left" ? [r.left] : []))
            if (flags.json) {
              yield* printJson(results.map((r) =>
                r._tag === "Right"
                  ? {
                    file: r.right.file,
                    image_id: r.right.image_id,
                    ...(r.right.status ? { status: r.right.status } : {})
                  }
                  : {
                    file: r.left.file,
                    error: r.left.error.code,
                    message: r.left.error.message,
                    ...(r.left.error.image ? { image_id: r.left.error.image.image_id, status: r.left.error.image } : {})
                  }
              ))
            } else {
              for (const r of ok) {
                yield* Console.log(`${r.image_id}  ${r.file}${r.status ? `  ready: ${servedSizes(r.status)}` : ""}`)
              }
            }
            for (const f of failed) {
              const id = f.error.image ? `${f.error.image.image_id}  ` : ""
              yield* Console.error(`${id}${f.file}: ${f.error.code}: ${f.error.message}`)
            }
            if (failed.length > 0) {
              return yield* new Reported({ message: `${failed.length} of ${results.length} failed` })
            }
          })
        )
      ))
).pipe(Command.withDescription("Upload images (progress per file on stderr); prints each image id"))

// status <id>
const status = Command.make(
  "status",
  { ...common, id: Args.text({ name: "image-id" }) },
  (flags) =>
    withClient(flags, (client) =>
      client.status(flags.id).pipe(
        Effect.flatMap((s) => (flags.json ? printJson(s) : Console.log(statusReport(s))))
      ))
).pipe(Command.withDescription("An image's status and its sizes"))

// get <id> --size S [--format F] -o FILE
const get = Command.make(
  "get",
  {
    ...common,
    id: Args.text({ name: "image-id" }),
    size: Options.choice("size", SIZE_CHOICES).pipe(Options.withAlias("s"), Options.withDefault("large")),
    format: Options.choice("format", FORMAT_CHOICES).pipe(
      Options.withAlias("f"),
      Options.withDescription(
        "encoding: jpeg (the baseline; WebP for images with alpha), webp, avif; a missing one falls back. " +
          "auto (the default) asks for the baseline, as no Accept header names another"
      ),
      Options.withDefault("auto")
    ),
    output: Options.file("output").pipe(Options.withAlias("o"), Options.withDescription("file to write"))
  },
  (flags) =>
    withClient(flags, (client) =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const image = yield* client.download(flags.id, flags.size, { format: flags.format })
        yield* fs.writeFile(flags.output, image.data).pipe(
          Effect.mapError((e) =>
            new ImgpipeError({ code: "file_unwritable", message: `${flags.output}: ${e.message}` })
          )
        )
        const { data: _data, ...served } = image
        yield* flags.json
          ? printJson({ ...served, file: flags.output })
          : Console.log(
            `${flags.output}: ${served.served_size}${
              served.served_size === flags.size ? "" : ` (${flags.size} not ready yet)`
            }` +
              `, ${served.width ?? "?"}×${served.height ?? "?"} ${served.format} (${served.content_type})` +
              `, ${image.data.byteLength} bytes`
          )
      }))
).pipe(Command.withDescription("Download a size of an image (what get_image serves) to a file"))

// images --status S [--older-than 1h] [--limit N]
const images = Command.make(
  "images",
  {
    ...common,
    status: Options.choice("status", STATUS_CHOICES).pipe(Options.optional),
    olderThan: Options.text("older-than").pipe(
      Options.withDescription("only images unchanged for this long: 90s, 15m, 1h, 2d"),
      Options.optional
    ),
    limit: Options.integer("limit").pipe(Options.withDescription("at most this many"), Options.withDefault(50))
  },
  (flags) =>
    withClient(flags, (client) =>
      Effect.gen(function* () {
        const olderThanSeconds = Option.isNone(flags.olderThan) ? undefined : parseAge(flags.olderThan.value)
        if (Option.isSome(flags.olderThan) && olderThanSeconds === undefined) {
          return yield* new UsageError({
            message: `--older-than: expected e.g. 90s, 15m, 1h, 2d; got ${flags.olderThan.value}`
          })
        }
        if (flags.limit < 1) return yield* new UsageError({ message: "--limit must be 1 or more" })
        const found: Array<ImageStatus> = []
        let cursor: string | undefined
        let next: string | null = null
        do {
          const page = yield* client.listImages({
            status: Option.getOrUndefined(flags.status),
            olderThanSeconds,
            limit: Math.min(500, flags.limit - found.length),
            cursor
          })
          found.push(...page.images)
          next = page.next_cursor
          cursor = next ?? undefined
        } while (next !== null && found.length < flags.limit)
        if (flags.json) return yield* printJson({ images: found, next_cursor: next })
        const now = Date.now()
        yield* Console.log(table(
          ["image_id", "status", "updated", "error"],
          found.map((s) => [
            s.image_id,
            s.status,
            `${age((now - new Date(s.updated_at).getTime()) / 1000)} ago`,
            s.error === undefined ? "" : `${s.error.code}: ${s.error.message}`
          ])
        ))
        yield* Console.error(
          `${found.length} image${found.length === 1 ? "" : "s"}${next === null ? "" : " (more: raise --limit)"}`
        )
      }))
).pipe(Command.withDescription("List images by status and age (admin key)"))

// reprocess <id> [--size S]…
const reprocess = Command.make(
  "reprocess",
  {
    ...common,
    id: Args.text({ name: "image-id" }),
    sizes: Options.choice("size", SIZE_CHOICES).pipe(
      Options.withDescription("a size to make again (repeatable; default: every size not ready)"),
      Options.repeated
    )
  },
  (flags) =>
    withClient(flags, (client) =>
      client.reprocess(flags.id, flags.sizes as ReadonlyArray<ImageSize>).pipe(
        Effect.flatMap((s) =>
          flags.json
            ? printJson(s)
            : Console.log(
              `${s.image_id}  ${s.status}: ${
                flags.sizes.length === 0 ? "missing sizes" : flags.sizes.join(", ")
              } queued again`
            )
        )
      ))
).pipe(Command.withDescription("Make sizes of an image again from its original (admin key)"))

// queues
const queues = Command.make("queues", common, (flags) =>
  withClient(flags, (client) =>
    client.queues().pipe(
      Effect.flatMap((list) =>
        flags.json
          ? printJson({ queues: list })
          : Console.log(table(
            ["queue", "depth", "in flight", "oldest"],
            list.map((q) => [q.name, String(q.depth), String(q.in_flight), age(q.oldest_age_seconds)])
          ))
      )
    ))).pipe(Command.withDescription("Depth, in flight and oldest message of each queue (admin key)"))

// dlq redrive
const redrive = Command.make("redrive", common, (flags) =>
  withClient(flags, (client) =>
    client.redriveDlq().pipe(
      Effect.flatMap((list) =>
        flags.json
          ? printJson({ redrives: list })
          : Effect.forEach(list, (r) =>
            Console.log(
              `${r.queue}: ${r.messages ?? "?"} message${r.messages === 1 ? "" : "s"} ${
                r.task_handle === null ? "moved back" : `moving (task ${r.task_handle})`
              }`
            )).pipe(Effect.zipRight(list.length === 0 ? Console.log("nothing to redrive") : Effect.void))
      )
    ))).pipe(Command.withDescription("Move dead-lettered jobs back to their queues (admin key)"))

const dlq = Command.make("dlq").pipe(
  Command.withDescription("The dead-letter queue"),
  Command.withSubcommands([redrive])
)

export const command = Command.make("imgpipe").pipe(
  Command.withDescription("Operate an imgpipe server: upload, inspect, reprocess, queues"),
  Command.withSubcommands([upload, status, get, images, reprocess, queues, dlq])
)

const cli = Command.run(command, { name: "imgpipe", version: "1.0.0" })

/**
 * Runs the CLI on `argv` (as `process.argv`: node and the script first) and gives the exit code.
 * @effect/cli prints usage errors itself; API failures are printed here, one line on stderr.
 */
export const run = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) => {
      if (ValidationError.isValidationError(error)) return Effect.succeed(2)
      if (error instanceof UsageError) return Console.error(`imgpipe: ${error.message}`).pipe(Effect.as(2))
      if (error instanceof Reported) return Console.error(`imgpipe: ${error.message}`).pipe(Effect.as(1))
      if (error instanceof ImgpipeError) {
        return Console.error(
          `imgpipe: ${error.code}${error.status === undefined ? "" : ` (${error.status})`}: ${error.message}`
        )
          .pipe(Effect.as(1))
      }
      return Console.error(`imgpipe: ${String(error)}`).pipe(Effect.as(1))
    })
  )
