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
  DEFAULT_IMPORTANCE_WEIGHT_CLIP,
  IMPORTANCE_WEIGHT_CLIPS,
  type ImportanceWeightClip,
  type ImportanceWeightClipKind,
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
  biObjectiveReward,
  LIKELIHOOD_EPS,
  OBJECTIVES,
  type Objective,
  REWARD_SIGNALS,
  type RewardSignal,
  rewardModelScores,
  totalReward,
} from './reward.js';
