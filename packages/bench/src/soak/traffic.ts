/**
 * The soak's offered traffic: uploads drawn from a fixed mix, and downloads of what was uploaded
 * in five ways (full GETs through `get_image`'s redirect, conditional GETs, HEADs, aborted
 * downloads, forged signed URLs), counting answers and errors by kind.
 */
import { loadPhoto, uploadPhoto } from "../runner.js"

const SIZES = ["small", "medium", "large"] as const

/**
 * Mostly the cheap photos, so that processing keeps up on two cores and the run measures a steady
 * state rather than a growing backlog; a refused file and a larger photo now and then exercise the
 * rejection and the slower paths too.
 */
const SOAK_MIX: ReadonlyArray<readonly [string, number]> = [
  ["photo-1280x1024-grass-progressive.jpg", 30],
  ["photo-1024x772.webp", 25],
  ["photo-246x345.tiff", 20],
  ["exif-orientation-6.jpg", 10],
  ["alpha-2048x1536-rgba.png", 5],
  ["not-an-image-text.jpg", 5],
  ["truncated.jpg", 5]
]

interface Stored {
  readonly id: string
  readonly etags: Map<string, string>
}

export interface Counts {
  uploads: number
  downloads: number
  errors: number
  notModified: number
  heads: number
  aborted: number
  forged: number
}

export interface Traffic {
  readonly upload: () => Promise<void>
  /** One download of a random stored image, the way chosen by `n`. */
  readonly download: (n: number) => Promise<void>
  readonly counts: Readonly<Counts>
  readonly errorKinds: ReadonlyMap<string, number>
  /** The images uploaded so far. */
  readonly stored: ReadonlyArray<{ readonly id: string }>
}

export const makeTraffic = (baseUrl: string): Traffic => {
  const photos = SOAK_MIX.map(([name, weight]) => ({ ...loadPhoto(name), weight }))
  const totalWeight = photos.reduce((s, p) => s + p.weight, 0)
  let pick = 0
  /** Deterministic weighted choice: the i-th upload takes the photo at i × golden ratio of the weights. */
  const nextPhoto = () => {
    let point = ((pick++ * 0.6180339887) % 1) * totalWeight
    for (const photo of photos) {
      point -= photo.weight
      if (point < 0) return photo
    }
    return photos[0] as (typeof photos)[number]
  }

  const stored: Array<Stored> = []
  const counts: Counts = { uploads: 0, downloads: 0, errors: 0, notModified: 0, heads: 0, aborted: 0, forged: 0 }
  const errorKinds = new Map<string, number>()
  const fail = (kind: string) => {
    counts.errors++
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
  }

  const upload = async () => {
    try {
      const outcome = await uploadPhoto(baseUrl, nextPhoto())
      if (outcome._tag === "Refused") return fail(`${outcome.step} ${outcome.status}`)
      counts.uploads++
      stored.push({ id: outcome.imageId, etags: new Map() })
    } catch (error) {
      fail(`upload ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** One download of a random stored image, in one of five ways. */
  const download = async (n: number) => {
    const image = stored[Math.floor(Math.random() * stored.length)]
    if (image === undefined) return
    const size = SIZES[n % 3] as (typeof SIZES)[number]
    const kind = n % 10
    try {
      const redirect = await fetch(`${baseUrl}/get_image?image_id=${image.id}&image_size=${size}`, {
        redirect: "manual"
      })
      await redirect.arrayBuffer()
      // Refused images answer 422; not yet uploaded 404: both are fine answers, nothing to follow.
      if (redirect.status === 422 || redirect.status === 404) return void counts.downloads++
      const location = redirect.headers.get("location")
      if (redirect.status !== 302 || location === null) return fail(`get_image ${redirect.status}`)
      const served = redirect.headers.get("x-image-size") ?? "?"
      if (kind < 5) {
        const res = await fetch(location)
        await res.arrayBuffer()
        if (!res.ok) return fail(`GET ${res.status}`)
        const etag = res.headers.get("etag")
        if (etag !== null) image.etags.set(served, etag)
      } else if (kind < 7) {
        const etag = image.etags.get(served)
        const res = await fetch(location, etag === undefined ? {} : { headers: { "if-none-match": etag } })
        await res.arrayBuffer()
        if (res.status === 304) counts.notModified++
        else if (!res.ok) return fail(`conditional GET ${res.status}`)
      } else if (kind < 8) {
        const res = await fetch(location, { method: "HEAD" })
        await res.arrayBuffer()
        if (!res.ok) return fail(`HEAD ${res.status}`)
        counts.heads++
      } else if (kind < 9) {
        const controller = new AbortController()
        const res = await fetch(location, { signal: controller.signal })
        const reader = res.body?.getReader()
        await reader?.read()
        controller.abort()
        counts.aborted++
      } else {
        const forged = location.replace(/sig=[0-9a-f]{4}/, "sig=0000")
        const res = await fetch(forged)
        await res.arrayBuffer()
        if (res.status !== 403) return fail(`forged URL ${res.status}`)
        counts.forged++
      }
      counts.downloads++
    } catch (error) {
      if (error instanceof Error && error.name === "AbortError") return void counts.downloads++
      fail(`download ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  return { upload, download, counts, errorKinds, stored }
}
