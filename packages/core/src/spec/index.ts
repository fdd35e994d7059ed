export { didYouMean, editDistance } from './did-you-mean.js';
export {
  type DropoutEntry,
  dropoutEntrySchema,
  dropoutVariantCount,
  dropoutVariants,
} from './dropout-entry.js';
export {
  type Cell,
  type CellSettings,
  cellId,
  cellRecord,
  cellSettings,
  countCells,
  expandSweep,
  FREEZE_BY_DEFAULT,
  freezesByDefault,
  pairId,
  type ResolvedDataset,
  type ResolvedTarget,
  resolveDataset,
  resolveTarget,
} from './expand.js';
export { formatProblem, type SpecProblem } from './problems.js';
export {
  BEHAVIOR_PROBABILITIES,
  type BehaviorProbabilities,
  type BootstrapSpec,
  type DatasetSpec,
  DEFAULT_MAX_CELLS,
  EVALUATION_METRICS,
  type EvaluationMetric,
  type EvaluationSpec,
  type LmModelRef,
  type RewardFinetune,
  rewardFinetuneSchema,
  SAMPLES_PER_EPOCH,
  type SamplesPerEpoch,
  type SweepSpec,
  type SweepSpecInput,
  sweepSpecSchema,
  TARGET_INITS,
  type TargetInit,
  type TargetSpec,
  type TrainingSpec,
} from './schema.js';
export {
  parseSpecText,
  parseSweepSpec,
  SpecError,
  type SpecValidation,
  validateSpec,
} from './validate.js';
