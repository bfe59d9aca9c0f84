/**
 * Section "cost": cost per million uploaded images per configuration, computed from the resize and
 * formats sections' results of the same run (or of `--from <results.json>`); it measures nothing.
 * `bun run bench -- --only cost --from results.json --splice` rewrites only this section;
 * `--views N` changes the views per image (default 20).
 */
import { statSync } from "node:fs"
import { join } from "node:path"
import { PROCESS_IMAGE, START_PROCESSING } from "../../../infra/settings.js"
import type { FormatsSection } from "../formats/model.js"
import type { ResizeSection } from "../resize/methods.js"
import { fixturesDir } from "../util.js"
import { CLIENT_MIX, type ClientShare, configurations, type Missing, shippedFormatSet } from "./configs.js"
import { type Assumptions, type Configuration, type Cost, costOf } from "./model.js"

export interface CostRow {
  readonly config: Configuration
  readonly cost: Cost
}

export interface CostSection {
  readonly assumptions: Assumptions
  readonly clients: ReadonlyArray<ClientShare>
  readonly shipped: string
  readonly rows: ReadonlyArray<CostRow>
  readonly missing: ReadonlyArray<Missing>
}

export const DEFAULT_VIEWS = 20

/** The defaults of docs/deploy.md ("What delivery costs") and packages/infra/settings.ts. */
export const defaultAssumptions = (viewsPerImage: number = DEFAULT_VIEWS): Assumptions => ({
  imagesPerMonth: 300e6,
  viewsPerImage,
  viewMix: { small: 0.6, medium: 0.3, large: 0.1 },
  cacheHitRatio: 0.9,
  memoryMb: Number.parseInt(PROCESS_IMAGE.memory, 10),
  batches: { start: START_PROCESSING.batchSize, process: PROCESS_IMAGE.batchSize }
})

const fixtureBytes = (name: string): number | undefined => {
  try {
    return statSync(join(fixturesDir, name)).size
  } catch {
    return undefined
  }
}

/** `--views N` from the command line, else the default. */
export const viewsFromArgs = (argv: ReadonlyArray<string>): number => {
  const at = argv.indexOf("--views")
  const value = at >= 0 ? Number(argv[at + 1]) : Number.NaN
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_VIEWS
}

export const costSection = (
  sections: {
    readonly resize: ResizeSection | { readonly error: string } | undefined
    readonly formats?: FormatsSection | { readonly error: string } | undefined
  },
  viewsPerImage: number = DEFAULT_VIEWS
): CostSection => {
  const assumptions = defaultAssumptions(viewsPerImage)
  const shipped = shippedFormatSet()
  const { configs, missing } = configurations({
    resize: sections.resize,
    formats: sections.formats,
    inputBytes: fixtureBytes,
    shipped
  })
  return {
    assumptions,
    clients: CLIENT_MIX,
    shipped,
    rows: configs.map((config) => ({ config, cost: costOf(config, assumptions) })),
    missing
  }
}
