export {
  type LossCoefficients,
  lossCoefficients,
  mean,
  type ObjectiveBatch,
  type ObjectiveConfig,
  std,
  weightedLoss,
} from './coefficients.js';
export {
  applyDropout,
  type DropoutConfig,
  type DropoutConfigOf,
  type DropoutDefinition,
  type DropoutKind,
  type DropoutKinds,
  type DropoutParameter,
  type DropoutResult,
  dropoutDefinition,
  dropoutKinds,
  dropoutParameters,
  isDropoutKind,
  keepWhere,
  registerDropoutKind,
  resolveDropoutConfig,
} from './dropout.js';
export { dropoutLabel, dropoutSyntax, parseDropoutLabel } from './dropout-label.js';
export {
  DEFAULT_IMPORTANCE_CLIP,
  IMPORTANCE_CLIPS,
  type ImportanceClip,
  type ImportanceClipKind,
  importanceWeights,
} from './importance.js';
export {
  LIKELIHOOD_KINDS,
  type LikelihoodKind,
  type MaskedTokens,
  sequenceLikelihood,
} from './likelihood.js';
export { quantile } from './quantile.js';
export {
  attributeReward,
  biObjectiveReward,
  LIKELIHOOD_EPS,
  OBJECTIVES,
  type Objective,
  REWARD_SIGNALS,
  type RewardSignal,
  totalReward,
} from './reward.js';
