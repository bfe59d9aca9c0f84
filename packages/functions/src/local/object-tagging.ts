/**
 * S3 object tagging for the emulator: `PutObjectTagging`, `GetObjectTagging` and
 * `DeleteObjectTagging` (`PUT|GET|DELETE /<bucket>/<key>?tagging`). fauxqs (1.9 and 2.x) has no
 * tagging: it would take a `PUT …?tagging` for an object write, replacing the original with the
 * tagging XML (and the emulator would announce an ObjectCreated). ProcessImage tags the originals
 * it refuses or gives up on (`imgpipe-disposition`, for the raw bucket's lifecycle), so the
 * emulator answers these requests itself, before fauxqs sees them.
 *
 * Tags live in memory beside fauxqs's store; deleting or overwriting the object does not reset
 * them (S3 would). The emulator has no lifecycle: nothing expires by tag here.
 */

export interface Tag {
  readonly key: string
  readonly value: string
}

export type TaggingAnswer =
  | { readonly _tag: "NotTagging" }
  | { readonly _tag: "Answer"; readonly status: number; readonly body: string }

export interface ObjectTagging {
  /**
   * Answers a tagging request (`body` is read only for a PUT), or says it is none. Runs before
   * fauxqs so that a tagging PUT never reaches its object write.
   */
  readonly handle: (input: {
    readonly method: string
    readonly bucket: string | undefined
    readonly key: string | undefined
    readonly query: Readonly<Record<string, unknown>> | undefined
    readonly body: () => Promise<string>
  }) => Promise<TaggingAnswer>
  /** The tags of an object, for tests and inspection. */
  readonly tagsOf: (bucket: string, key: string) => ReadonlyArray<Tag>
}

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(
    /'/g,
    "&apos;"
  )

const unescapeXml = (text: string) =>
  text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, "\"")
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&")

/** The `<Tag><Key>…</Key><Value>…</Value></Tag>` entries of a `<Tagging>` document. */
export const parseTagging = (xml: string): ReadonlyArray<Tag> =>
  [...xml.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*<Value>([\s\S]*?)<\/Value>\s*<\/Tag>/g)].map((match) => ({
    key: unescapeXml(match[1] ?? ""),
    value: unescapeXml(match[2] ?? "")
  }))

const taggingXml = (tags: ReadonlyArray<Tag>) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${
    tags.map((tag) => `<Tag><Key>${escapeXml(tag.key)}</Key><Value>${escapeXml(tag.value)}</Value></Tag>`).join("")
  }</TagSet></Tagging>`

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`

/** `exists` looks the object up in the emulator's own store. */
export const makeObjectTagging = (exists: (bucket: string, key: string) => Promise<boolean>): ObjectTagging => {
  const tags = new Map<string, ReadonlyArray<Tag>>()
  return {
    handle: async ({ body, bucket, key, method, query }) => {
      // Object tagging only: a bucket's tagging (no key) stays fauxqs's business.
      if (
        query === undefined || !("tagging" in query) || bucket === undefined || key === undefined || key.length === 0
      ) {
        return { _tag: "NotTagging" }
      }
      if (method !== "PUT" && method !== "GET" && method !== "DELETE") return { _tag: "NotTagging" }
      if (!(await exists(bucket, key))) {
        return { _tag: "Answer", status: 404, body: errorXml("NoSuchKey", "The specified key does not exist.") }
      }
      const id = `${bucket}/${key}`
      switch (method) {
        case "PUT": {
          const set = parseTagging(await body())
          if (set.length > 10) {
            return {
              _tag: "Answer",
              status: 400,
              body: errorXml("BadRequest", "Object tags cannot be greater than 10")
            }
          }
          tags.set(id, set)
          return { _tag: "Answer", status: 200, body: "" }
        }
        case "GET":
          return { _tag: "Answer", status: 200, body: taggingXml(tags.get(id) ?? []) }
        case "DELETE":
          tags.delete(id)
          return { _tag: "Answer", status: 204, body: "" }
      }
    },
    tagsOf: (bucket, key) => tags.get(`${bucket}/${key}`) ?? []
  }
}
