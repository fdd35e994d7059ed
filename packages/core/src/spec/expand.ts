/**
 * Grid expansion: a validated spec → a deterministic list of cells.
 *
 * Order: dataset, attribute, target, dropout variant, seed (the last varies fastest). `none`
 * is one variant, never multiplied by γ. A cell's id hashes every resolved setting its result
 * depends on, and no label: the same cell written in two specs has the same id, so its
 * artifacts and results are shared.
 */
import { DATASET_FORMATS, type DatasetFormatName, type NewsTextField } from '../datasets.js';
import { contentHash } from '../hash.js';
import type { DropoutConfig } from '../objective/dropout.js';
import { dropoutLabel } from '../objective/dropout-label.js';
import { dropoutVariantCount, dropoutVariants } from './dropout-entry.js';
import type { DatasetSpec, LmModelRef, SweepSpec, TargetSpec } from './schema.js';

/** One training run of the sweep: a point of the grid. */
export interface Cell {
  /** Stable content id, `c` + 16 hex digits. */
  id: string;
  /** Position in the expansion order. */
  index: number;
  dataset: string;
  attribute: string;
  target: string;
  dropout: DropoutConfig;
  seed: number;
  /**
   * What cells that differ only in their dropout share (`p` + 16 hex digits): it keys π's random
   * initialisation and the epoch order, so `none` and `quantile` at one seed are paired.
   */
  pair: string;
}

export interface ResolvedDataset {
  name: string;
  source: string;
  format: DatasetFormatName;
  attributes: string[];
  trainSplit: string;
  evalSplit: string;
  /** agnews-csv: which text is a sentence. */
  text?: NewsTextField;
}

export interface ResolvedTarget {
  name: string;
  model: LmModelRef;
  init: TargetSpec['init'];
  freezeAllButLastBlock: boolean;
}

export function resolveDataset(dataset: DatasetSpec): ResolvedDataset {
  const format: DatasetFormatName = dataset.format ?? 'builtin';
  return {
    name: dataset.name,
    source: dataset.source,
    format,
    attributes: dataset.attributes,
    trainSplit: dataset.trainSplit,
    evalSplit: dataset.evalSplit ?? DATASET_FORMATS[format].defaultEvalSplit,
    ...(format === 'agnews-csv' ? { text: dataset.text ?? 'sentence' } : {}),
  };
}

export function resolveTarget(target: TargetSpec, behaviorModel: LmModelRef): ResolvedTarget {
  const model = target.model ?? behaviorModel;
  const base =
    model.preset ?? (model.checkpoint ?? 'target').replace(/\/+$/, '').split('/').pop() ?? 'target';
  return {
    name: target.name ?? (target.init === 'behavior' ? base : `${base}-${target.init}`),
    model,
    init: target.init,
    freezeAllButLastBlock: target.freezeAllButLastBlock ?? freezesByDefault(model),
  };
}

/** Models whose only trained layer is the last by default (see {@link freezesByDefault}). */
export const FREEZE_BY_DEFAULT = ['opt-6.7b', 'xglm-1.7b'] as const;

/**
 * Whether a target trains only its last block unless the spec says otherwise: OPT-6.7B and
 * XGLM-1.7B, by preset or by a checkpoint named after them. This follows the authors'
 * `RLHF_train.py` L854-910 as issue 20 reports them (their repository could not be read here):
 * for those models only the last decoder layer is trainable. rdlab also trains the final
 * LayerNorm (as `freezeAllButLastBlock` always has): it normalises the trained block's output
 * into the tied head, costs 2·C parameters, and keeps Table 2's runs unchanged.
 */
export function freezesByDefault(model: LmModelRef): boolean {
  const name = (
    model.preset ??
    model.checkpoint?.replace(/\/+$/, '').split('/').pop() ??
    ''
  ).toLowerCase();
  return FREEZE_BY_DEFAULT.some((p) => name === p || name.startsWith(`${p}-`));
}

/** Everything a cell's result depends on: what its id hashes and what a worker needs. */
export function cellSettings(
  spec: SweepSpec,
  cell: Pick<Cell, 'dataset' | 'attribute' | 'target' | 'dropout' | 'seed'>,
) {
  const dataset = spec.datasets.find((d) => d.name === cell.dataset);
  const targetSpec = spec.targets
    .map((t) => resolveTarget(t, spec.behavior.model))
    .find((t) => t.name === cell.target);
  if (!dataset || !targetSpec)
    throw new Error(
      `cellSettings: no dataset '${cell.dataset}' or target '${cell.target}' in the spec`,
    );
  const { name: _datasetName, attributes: _all, ...datasetIdentity } = resolveDataset(dataset);
  const { name: _targetName, ...targetIdentity } = targetSpec;
  return {
    dataset: datasetIdentity,
    attribute: cell.attribute,
    behavior: spec.behavior,
    rewardModel: spec.rewardModel,
    target: targetIdentity,
    dropout: cell.dropout,
    training: spec.training,
    bootstrap: spec.bootstrap,
    evaluation: spec.evaluation,
    seed: cell.seed,
  };
}

export type CellSettings = ReturnType<typeof cellSettings>;

export function cellId(settings: CellSettings): string {
  return `c${contentHash(settings).slice(0, 16)}`;
}

/** The pairing key: every setting but the dropout (see {@link Cell.pair}). */
export function pairId(settings: CellSettings): string {
  const { dropout: _dropout, ...shared } = settings;
  return `p${contentHash(shared).slice(0, 16)}`;
}

/** A cell as the service stores it (a row of `cells`): its dropout as a label and as a config. */
export function cellRecord(cell: Cell) {
  return {
    id: cell.id,
    index: cell.index,
    dataset: cell.dataset,
    attribute: cell.attribute,
    target: cell.target,
    dropout: dropoutLabel(cell.dropout),
    dropoutConfig: { ...cell.dropout },
    seed: cell.seed,
  };
}

/** Counts cells without building them (for the cap check on huge grids). */
export function countCells(spec: SweepSpec): number {
  const variants = spec.dropout.reduce((n, entry) => n + dropoutVariantCount(entry), 0);
  const attributes = spec.datasets.reduce((n, d) => n + d.attributes.length, 0);
  return attributes * spec.targets.length * variants * spec.seeds.length;
}

export function expandSweep(spec: SweepSpec): Cell[] {
  const targets = spec.targets.map((t) => resolveTarget(t, spec.behavior.model));
  const variants = spec.dropout.flatMap(dropoutVariants);
  const cells: Cell[] = [];
  for (const dataset of spec.datasets) {
    for (const attribute of dataset.attributes) {
      for (const target of targets) {
        for (const dropout of variants) {
          for (const seed of spec.seeds) {
            const cell = { dataset: dataset.name, attribute, target: target.name, dropout, seed };
            const settings = cellSettings(spec, cell);
            cells.push({
              id: cellId(settings),
              index: cells.length,
              ...cell,
              pair: pairId(settings),
            });
          }
        }
      }
    }
  }
  return cells;
}
