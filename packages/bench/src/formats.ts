/**
 * Section "formats": what `IMGPIPE_FORMATS` costs. Each set (none, webp, webp,avif) runs in a fresh
 * process (formats/child.ts) with ProcessImage's allocator and libvips settings, the real Resizer and
 * the bench's photo mix: CPU per image, bytes per format and per client, bytes stored, peak RSS.
 * Then the extras' encoder settings are compared at the large size (formats/encoders.ts).
 * `bun run bench -- --only formats [--quick]` runs it alone (`--quick`: the small mix, one repetition).
 */
import type { ChildJob } from "./formats/child.js"
import { compareEncoders } from "./formats/encoders.js"
import { FORMAT_SETS, type FormatSetId, type FormatSetRun, type FormatsSection } from "./formats/model.js"
import { LAMBDA_ENV } from "./memory.js"
import { fmt, leadingEntries, type MixEntry, progress, startChild, tsxNode } from "./util.js"

export interface FormatsOptions {
  readonly mix: ReadonlyArray<MixEntry>
  readonly quick: boolean
  readonly sizes: FormatsSection["sizes"]
}

const runSet = async (set: FormatSetId, job: Omit<ChildJob, "set">): Promise<FormatSetRun> => {
  const [command, args] = tsxNode("packages/bench/src/formats/child.ts")
  const child = startChild(command, [...args, JSON.stringify({ ...job, set })], {
    ...LAMBDA_ENV,
    IMGPIPE_FORMATS: set
  })
  let last = ""
  let pending = ""
  child.process.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split("\n")
    pending = lines.pop() ?? ""
    for (const text of lines) {
      if (text.startsWith("{")) last = text
      else if (text.trim() !== "") progress(`formats ${set}: ${text}`)
    }
  })
  const code = await new Promise<number | null>((done) => child.process.once("exit", (c) => done(c)))
  if (pending.startsWith("{")) last = pending
  if (last === "") {
    throw new Error(`the ${set} child exited (${code}) without a result:\n${child.output().slice(-2000)}`)
  }
  const result = JSON.parse(last) as FormatSetRun | { readonly error: string }
  if ("error" in result) throw new Error(`${set}: ${result.error}`)
  return result
}

/**
 * Runtime budget (the whole bench must stay within 10 minutes on 2 cores): each set spends about
 * 800 ms of CPU per photo (3 samples of a photo under ~270 ms, 1 of an AVIF), and the encoder
 * comparison runs on the photos that carry 75 % of the mix's weight (4 of the `photos` mix's 9: the
 * 12 MP AVIF alone took 3½ of its 7 minutes), about 600 ms per setting and photo (formats/encoders.ts).
 */
const SET_BUDGET_MS = 800
const ENCODER_MIX_SHARE = 0.75

export const runFormatsSection = async (options: FormatsOptions): Promise<FormatsSection> => {
  const job = {
    mix: options.mix,
    budgetMs: options.quick ? 0 : SET_BUDGET_MS,
    maxRepetitions: options.quick ? 1 : 3
  }
  const runs: Array<FormatsSection["runs"][number]> = []
  for (const set of FORMAT_SETS) {
    progress(`formats: IMGPIPE_FORMATS=${set} in a fresh process`)
    try {
      const run = await runSet(set, job)
      progress(
        `formats: ${set} done in ${fmt(run.seconds, 0)} s, peak RSS ${fmt(run.peakRssMib, 0)} MiB` +
          (run.skipped.length === 0 ? "" : `, skipped ${run.skipped.map((s) => s.name).join(", ")}`)
      )
      runs.push(run)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      progress(`formats: ${set} FAILED: ${message.split("\n")[0] ?? message}`)
      runs.push({ set, error: message.split("\n").slice(0, 3).join(" ") })
    }
  }
  let encoders: FormatsSection["encoders"]
  try {
    encoders = await compareEncoders({
      mix: leadingEntries(options.mix, ENCODER_MIX_SHARE),
      box: options.sizes.large,
      quick: options.quick
    })
  } catch (error) {
    encoders = { error: error instanceof Error ? error.message : String(error) }
  }
  return { sizes: options.sizes, quick: options.quick, runs, encoders }
}
