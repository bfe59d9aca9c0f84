/**
 * ImageMagick as a contender: run as a child limited to one thread, timed in its own CPU time by
 * `/usr/bin/time` (10 ms resolution).
 */
import type { SizeBox, SizeBoxes } from "@imgpipe/core"
import { execFile } from "node:child_process"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import sharp from "sharp"
import { removeDir, tryRun, which } from "../util.js"
import { ORDER, type Run } from "./methods.js"

/** CPU ms of the last ImageMagick run, read from /usr/bin/time (a Run returns output bytes). */
let lastCpuMs = 0

export const lastMagickCpuMs = (): number => lastCpuMs

const execTimed = (magick: string, args: ReadonlyArray<string>, timeFile: string): Promise<number> => {
  const timeBin = which("/usr/bin/time")
  const [command, fullArgs] = timeBin === undefined
    ? [magick, [...args]]
    : [timeBin, ["-f", "%U %S", "-o", timeFile, magick, ...args]]
  const startedAt = performance.now()
  return new Promise((done, fail) => {
    execFile(command, fullArgs, { env: { ...process.env, MAGICK_THREAD_LIMIT: "1" } }, (error, _stdout, stderr) => {
      const wall = performance.now() - startedAt
      if (error !== null) {
        fail(new Error(`convert failed: ${stderr.trim().split("\n").at(-1) ?? error.message}`))
        return
      }
      if (timeBin === undefined) return done(wall)
      const [user, system] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number)
      removeDir(timeFile)
      done(((user ?? 0) + (system ?? 0)) * 1000)
    })
  })
}

/**
 * `oneCommand`: one process, one decode, the three outputs written from clones, with the JPEG
 * decoder's shrink-on-load hint — ImageMagick at its best. `perSize`: three plain commands.
 */
export const makeMagickRun = (
  magick: string,
  sizes: SizeBoxes,
  scratch: string,
  style: "oneCommand" | "perSize"
): Run => {
  let counter = 0
  return async (bytes) => {
    const n = counter++
    const input = join(scratch, `in-${style}-${n}`)
    // Outside the sharp methods' timing; convert is timed on its own CPU clock.
    writeFileSync(input, bytes)
    const metadata = await sharp(bytes).metadata()
    const alpha = metadata.hasAlpha
    const ext = alpha ? "webp" : "jpg"
    const encode = alpha
      ? ["-quality", "80", "-define", "webp:alpha-quality=100"]
      : ["-quality", "80", "-interlace", "Plane"]
    const box = (b: SizeBox) => `${b.width}x${b.height}>`
    const outputs = ORDER.map((size) => join(scratch, `out-${style}-${n}-${size}.${ext}`))
    const timeFile = join(scratch, `time-${style}-${n}`)
    let cpuMs = 0
    try {
      if (style === "perSize") {
        for (const [i, size] of ORDER.entries()) {
          cpuMs += await execTimed(magick, [
            "-limit",
            "thread",
            "1",
            `${input}[0]`,
            "-auto-orient",
            "-strip",
            "-depth",
            "8",
            "-resize",
            box(sizes[size]),
            ...encode,
            outputs[i] as string
          ], timeFile)
        }
      } else {
        const [largeOut, mediumOut, smallOut] = outputs as [string, string, string]
        // JPEG shrink-on-load, as libvips does it: IM divides both stored dimensions by the largest
        // whole factor that keeps them at least this size, so asking for the large rendition's own
        // size decodes at 1/2…1/8 and never below it. (A hint larger than the image makes IM 6
        // scale up: 4096×4096 on a 6028×3391 photo decodes 12056×6782.)
        const scale = Math.min(1, sizes.large.width / metadata.width, sizes.large.height / metadata.height)
        const hint = metadata.format === "jpeg" && scale < 1
          ? ["-define", `jpeg:size=${Math.round(metadata.width * scale)}x${Math.round(metadata.height * scale)}`]
          : []
        cpuMs = await execTimed(magick, [
          "-limit",
          "thread",
          "1",
          ...hint,
          `${input}[0]`,
          "-auto-orient",
          "-strip",
          "-depth",
          "8",
          "(",
          "+clone",
          "-resize",
          box(sizes.large),
          ...encode,
          "-write",
          largeOut,
          "+delete",
          ")",
          "(",
          "+clone",
          "-resize",
          box(sizes.medium),
          ...encode,
          "-write",
          mediumOut,
          "+delete",
          ")",
          "-resize",
          box(sizes.small),
          ...encode,
          smallOut
        ], timeFile)
      }
      lastCpuMs = cpuMs
      let out = 0
      for (const file of outputs) out += statSync(file).size
      return out
    } finally {
      for (const file of [input, ...outputs]) removeDir(file)
    }
  }
}

/** What the report says when ImageMagick cannot be measured: always the command that installs it. */
export const MAGICK_INSTALL = "apt-get install imagemagick"

export const imagemagickVersion = (): {
  path: string | undefined
  version: string | undefined
  missing: string | undefined
} => {
  // /usr/local/bin/convert may be a stand-in on some machines: prefer the real binary, and check
  // that whatever is found says it is ImageMagick (its `-version` starts "Version: ImageMagick").
  const candidates = ["/usr/bin/convert", "convert", "magick"]
  const impostors: Array<string> = []
  for (const candidate of candidates) {
    const path = which(candidate)
    if (path === undefined) continue
    const version = tryRun(path, ["-version"])?.split("\n")[0]
    if (version !== undefined && /^Version:\s*ImageMagick/i.test(version)) {
      return { path, version: version.replace(/^Version:\s*/, ""), missing: undefined }
    }
    if (!impostors.includes(path)) impostors.push(path)
  }
  return {
    path: undefined,
    version: undefined,
    missing: impostors.length === 0
      ? `ImageMagick is not measured: no \`convert\` on this machine. Install it with \`${MAGICK_INSTALL}\``
      : `ImageMagick is not measured: ${
        impostors.map((p) => `\`${p}\``).join(", ")
      } is not ImageMagick. Install it with \`${MAGICK_INSTALL}\``
  }
}
