import { Clock, Context, Effect, Exit, Layer, Option } from "effect"
import { type Fingerprint, REUSABLE_REJECTIONS } from "../domain/dedupe.js"
import { DatabaseError } from "../domain/errors.js"
import type { ImageId } from "../domain/ids.js"
import { ImageRecord, RenditionRecord } from "../domain/image.js"
import { isRejected } from "../domain/rules.js"
import { IMAGE_SIZES, type ImageSize } from "../domain/sizes.js"
import {
  type DuplicateMatch,
  ImageRepository,
  ReconcileRepository,
  type UploadMark
} from "../services/ImageRepository.js"

type ImageFields = ConstructorParameters<typeof ImageRecord>[0]
type RenditionFields = Omit<
  ConstructorParameters<typeof RenditionRecord>[0],
  "imageId" | "size" | "createdAt" | "updatedAt"
>

/** Effect's clock as a `Date`: `TestClock.adjust` moves it in `it.effect`, the real clock elsewhere. */
const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

const sizeRank = (size: ImageSize) => IMAGE_SIZES.indexOf(size)

/**
 * `ImageRepository` and `ReconcileRepository` over two maps, following the services' contract as
 * the SQL layer does (idempotent writes, `ready` once every size is, the first rejection stands).
 * Times come from Effect's `Clock`, so `TestClock.adjust` ages images for the reconciler.
 * `state.pingFails` makes `ping` fail, for readiness tests.
 */
export const makeMemoryImages = () => {
  const images = new Map<ImageId, ImageRecord>()
  const renditions = new Map<ImageId, Map<ImageSize, RenditionRecord>>()
  const resends = new Map<ImageId, number>()
  /** `images.render_profile`: not part of `ImageRecord`. */
  const profiles = new Map<ImageId, string>()
  const state = { pingFails: false }

  const setFingerprint = (id: ImageId, fingerprint: Fingerprint | undefined) =>
    fingerprint === undefined
      ? {}
      : (profiles.set(id, fingerprint.renderProfile), { sha256: fingerprint.sha256 })

  const update = (id: ImageId, at: Date, patch: Partial<ImageFields>) => {
    const current = images.get(id)
    if (current === undefined) return undefined
    const next = new ImageRecord({ ...current, ...patch, updatedAt: at })
    images.set(id, next)
    return next
  }
  const setRendition = (id: ImageId, size: ImageSize, at: Date, fields: RenditionFields) => {
    const bySize = renditions.get(id) ?? new Map<ImageSize, RenditionRecord>()
    const createdAt = bySize.get(size)?.createdAt ?? at
    bySize.set(size, new RenditionRecord({ imageId: id, size, ...fields, createdAt, updatedAt: at }))
    renditions.set(id, bySize)
  }
  const renditionsOf = (id: ImageId) =>
    Array.from(renditions.get(id)?.values() ?? []).sort((a, b) => sizeRank(a.size) - sizeRank(b.size))
  const readySizes = (id: ImageId) => renditionsOf(id).filter((r) => r.status === "ready").map((r) => r.size)

  const repository = ImageRepository.of({
    create: (input) =>
      Effect.map(now, (at) => {
        const existing = images.get(input.id)
        if (existing !== undefined) return existing
        const record = new ImageRecord({
          id: input.id,
          status: "awaiting_upload",
          declaredContentType: input.declaredContentType,
          declaredBytes: input.declaredBytes,
          uploadExpiresAt: input.uploadExpiresAt,
          originalBytes: null,
          originalContentType: null,
          originalFormat: null,
          originalWidth: null,
          originalHeight: null,
          originalStored: false,
          errorCode: null,
          errorMessage: null,
          createdAt: at,
          updatedAt: at
        })
        images.set(input.id, record)
        return record
      }),
    find: (id) =>
      Effect.sync(() =>
        Option.fromNullable(images.get(id)).pipe(Option.map((image) => ({ image, renditions: renditionsOf(id) })))
      ),
    markUploaded: (uploads) =>
      Effect.map(now, (at) =>
        uploads.flatMap(({ bytes, id }): Array<UploadMark> => {
          const current = images.get(id)
          if (current === undefined) return []
          if (current.status !== "awaiting_upload") return [{ image: current, started: false }]
          const image = update(id, at, { status: "processing", originalBytes: bytes, originalStored: true })
          return image === undefined ? [] : [{ image, started: true }]
        })),
    recordOriginal: (id, info) =>
      Effect.map(now, (at) => {
        if (!images.has(id)) return
        update(id, at, {
          originalFormat: info.format,
          originalContentType: info.contentType,
          originalWidth: info.width,
          originalHeight: info.height,
          ...setFingerprint(id, info.fingerprint)
        })
      }),
    findDuplicate: ({ id, profile, sha256 }) =>
      Effect.sync(() => {
        const candidates = Array.from(images.values())
          .filter((i) => i.id !== id && i.duplicateOf !== id && i.sha256 === sha256 && profiles.get(i.id) === profile)
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
        const ready = candidates.find((i) => i.status === "ready")
        if (ready !== undefined) {
          return Option.some<DuplicateMatch>({
            _tag: "Ready",
            image: ready,
            renditions: renditionsOf(ready.id).filter((r) => r.status === "ready")
          })
        }
        const rejected = candidates.find((i) => isRejected(i) && REUSABLE_REJECTIONS.includes(i.errorCode))
        return rejected !== undefined && isRejected(rejected)
          ? Option.some<DuplicateMatch>({
            _tag: "Rejected",
            imageId: rejected.id,
            code: rejected.errorCode,
            message: rejected.errorMessage ?? "The image could not be processed."
          })
          : Option.none()
      }),
    recordRendition: (id, size, output, allSizes) =>
      Effect.flatMap(now, (at): Effect.Effect<ImageRecord, DatabaseError> => {
        const image = images.get(id)
        if (image === undefined) {
          return Effect.fail(new DatabaseError({ operation: "recordRendition", message: `no image ${id}` }))
        }
        setRendition(id, size, at, {
          status: "ready",
          key: output.key,
          width: output.width,
          height: output.height,
          bytes: output.bytes,
          contentType: output.contentType,
          variants: output.variants ?? [],
          errorCode: null,
          errorMessage: null
        })
        const placeholder = output.placeholder ?? image.placeholder
        const duplicateOf = output.duplicateOf ?? image.duplicateOf
        // As the SQL guard: a repeat that changes nothing leaves `updatedAt`.
        if (JSON.stringify(placeholder) !== JSON.stringify(image.placeholder) || duplicateOf !== image.duplicateOf) {
          update(id, at, { placeholder, duplicateOf })
        }
        const ready = readySizes(id)
        const complete = allSizes.every((s) => ready.includes(s))
        return Effect.succeed(
          complete && image.status !== "ready" && !isRejected(image)
            ? update(id, at, { status: "ready", errorCode: null, errorMessage: null }) ?? image
            : images.get(id) ?? image
        )
      }),
    // The first rejection stands; a rejection replaces a dead letter (`processing_failed`).
    markRejected: (id, failure, fingerprint) =>
      Effect.map(now, (at) => {
        const image = images.get(id)
        if (image === undefined || image.status === "ready" || isRejected(image)) return
        update(id, at, {
          status: "failed",
          errorCode: failure.code,
          errorMessage: failure.message,
          ...setFingerprint(id, fingerprint)
        })
      }),
    markRenditionFailed: (id, size, failure) =>
      Effect.map(now, (at) => {
        const image = images.get(id)
        if (image === undefined || renditions.get(id)?.get(size)?.status === "ready") return
        setRendition(id, size, at, {
          status: "failed",
          key: null,
          width: null,
          height: null,
          bytes: null,
          contentType: null,
          errorCode: failure.code,
          errorMessage: failure.message
        })
        if (image.status === "ready" || isRejected(image)) return
        update(id, at, { status: "failed", errorCode: failure.code, errorMessage: failure.message })
      }),
    markOriginalRemoved: (id) =>
      Effect.map(now, (at) => {
        if (images.get(id)?.originalStored === true) update(id, at, { originalStored: false })
      }),
    listAwaitingUpload: (limit) =>
      Effect.sync(() =>
        Array.from(images.values())
          .filter((i) => i.status === "awaiting_upload")
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
          .slice(0, limit)
      ),
    ping: Effect.suspend(() =>
      state.pingFails
        ? Effect.fail(new DatabaseError({ operation: "ping", message: "connection refused (10.0.0.5:5432)" }))
        : Effect.void
    )
  })

  /** The last progress of a `processing` image: its own clock or its latest rendition's. */
  const lastProgress = (image: ImageRecord) =>
    Math.max(image.updatedAt.getTime(), ...renditionsOf(image.id).map((r) => r.updatedAt.getTime()))

  const touch = (ids: ReadonlyArray<ImageId>, resent: boolean) =>
    Effect.map(now, (at) => {
      for (const id of ids) {
        if (images.get(id)?.status !== "processing") continue
        update(id, at, {})
        if (resent) resends.set(id, (resends.get(id) ?? 0) + 1)
      }
    })

  const snapshot = () => ({
    images: new Map(images),
    renditions: new Map(Array.from(renditions, ([id, bySize]) => [id, new Map(bySize)] as const)),
    resends: new Map(resends)
  })
  const restore = (saved: ReturnType<typeof snapshot>) => {
    images.clear()
    saved.images.forEach((image, id) => images.set(id, image))
    renditions.clear()
    saved.renditions.forEach((bySize, id) => renditions.set(id, bySize))
    resends.clear()
    saved.resends.forEach((count, id) => resends.set(id, count))
  }

  const reconcile = ReconcileRepository.of({
    // All or nothing, as the database's transaction: a failure puts every row back.
    transaction: (effect) =>
      Effect.suspend(() => {
        const saved = snapshot()
        return Effect.onExit(effect, (exit) => Effect.sync(() => Exit.isFailure(exit) && restore(saved)))
      }),
    findExpirable: ({ graceSeconds, limit }) =>
      Effect.map(now, (at) =>
        Array.from(images.values())
          .filter((i) =>
            i.status === "awaiting_upload" && i.uploadExpiresAt.getTime() < at.getTime() - graceSeconds * 1000
          )
          .sort((a, b) => a.uploadExpiresAt.getTime() - b.uploadExpiresAt.getTime())
          .slice(0, limit)
          .map((i) => i.id)),
    expireUploads: (ids) =>
      Effect.map(
        now,
        (at) =>
          ids.filter((id) =>
            images.get(id)?.status === "awaiting_upload" && update(id, at, { status: "expired" }) !== undefined
          )
      ),
    lockStalled: ({ limit, stallSeconds }) =>
      Effect.map(now, (at) =>
        Array.from(images.values())
          .filter((i) => i.status === "processing" && lastProgress(i) < at.getTime() - stallSeconds * 1000)
          .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
          .slice(0, limit)
          .map((i) => ({ id: i.id, stallResends: resends.get(i.id) ?? 0, readySizes: readySizes(i.id) }))),
    markResent: (ids) => touch(ids, true),
    deferStalled: (ids) => touch(ids, false),
    failStalled: (stalled) =>
      Effect.map(now, (at) => {
        for (const { id, message, missing } of stalled) {
          for (const size of missing) {
            if (renditions.get(id)?.get(size)?.status === "ready") continue
            setRendition(id, size, at, {
              status: "failed",
              key: null,
              width: null,
              height: null,
              bytes: null,
              contentType: null,
              errorCode: "processing_failed",
              errorMessage: message
            })
          }
          if (images.get(id)?.status === "processing") {
            update(id, at, { status: "failed", errorCode: "processing_failed", errorMessage: message })
          }
        }
      })
  })

  const layer = Layer.succeedContext(
    Context.make(ImageRepository, repository).pipe(Context.add(ReconcileRepository, reconcile))
  )

  return {
    repository,
    reconcile,
    layer,
    state,
    /** Times the reconciler re-sent this image's missing sizes. */
    stallResends: (id: ImageId) => resends.get(id) ?? 0,
    /** Every image, in no particular order. */
    all: () => Array.from(images.values())
  }
}

export type MemoryImages = ReturnType<typeof makeMemoryImages>
