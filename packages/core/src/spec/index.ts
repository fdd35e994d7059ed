export { didYouMean, editDistance } from './did-you-mean.js';
export {
  type Cell,
  type CellSettings,
  cellId,
  cellSettings,
  countCells,
  dropoutGamma,
  dropoutLabel,
  dropoutVariants,
  expandSweep,
  type ResolvedDataset,
  type ResolvedTarget,
  resolveDataset,
  resolveTarget,
} from './expand.js';
export { formatProblem, type SpecProblem } from './problems.js';
export {
  type BootstrapSpec,
  type DatasetSpec,
  DEFAULT_MAX_CELLS,
  type DropoutEntry,
  EVALUATION_METRICS,
  type EvaluationMetric,
  type EvaluationSpec,
  type LmModelRef,
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
