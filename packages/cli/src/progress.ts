/**
 * One progress bar per file on stderr (cli-progress), only when stderr is a terminal and the
 * output is for people: piped or `--json` runs print results only.
 */
import { MultiBar, Presets } from "cli-progress"
import { Effect } from "effect"

export interface FileBar {
  readonly bytes: (sent: number, total: number) => void
  readonly state: (text: string) => void
}

export interface Bars {
  readonly add: (file: string, total: number) => FileBar
}

const silent: Bars = { add: () => ({ bytes: () => undefined, state: () => undefined }) }

/** Bars for the scope's lifetime (stopped, and the cursor given back, when it closes). */
export const makeBars = (enabled: boolean) =>
  enabled && process.stderr.isTTY === true
    ? Effect.acquireRelease(
      Effect.sync(() =>
        new MultiBar(
          {
            stream: process.stderr,
            format: " {bar} {percentage}% | {file} | {state}",
            hideCursor: true,
            clearOnComplete: false,
            autopadding: true
          },
          Presets.shades_classic
        )
      ),
      (multi) => Effect.sync(() => multi.stop())
    ).pipe(
      Effect.map((multi): Bars => ({
        add: (file, total) => {
          const bar = multi.create(Math.max(total, 1), 0, { file, state: "uploading" })
          return {
            bytes: (sent, all) => bar.update(sent, { state: sent >= all ? "uploaded" : "uploading" }),
            state: (text) => bar.update({ state: text })
          }
        }
      }))
    )
    : Effect.succeed(silent)
