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
  DROPOUT_KINDS,
  DROPOUT_REGISTRY,
  type DropoutConfig,
  type DropoutKind,
  type DropoutResult,
} from './dropout.js';
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
