/**
 * @rdlab/core: the reward-dropout objective, sweep specs and seeded random numbers.
 * Pure TypeScript: no I/O, no tfjs.
 *
 * ```ts
 * import { createRng, lossCoefficients } from '@rdlab/core';
 *
 * const { coefficients, metrics } = lossCoefficients(
 *   { rewardModelScore: [2.1, -0.3, 0.8, 1.5], behaviorLikelihood: [0.3, 0.2, 0.25, 0.4], targetLikelihood: [0.28, 0.22, 0.2, 0.41] },
 *   { objective: 'bi-objective', dropout: { kind: 'quantile', gamma: 0.5 }, importanceWeightClip: { kind: 'norm', bound: 1 } },
 *   createRng(1),
 * );
 * // loss = mean_b(coefficients[b] · CE_b)
 * ```
 */
export {
  attributeLabel,
  DATASET_FORMAT_NAMES,
  DATASET_FORMATS,
  type DatasetFormat,
  type DatasetFormatName,
  NEWS_TEXT_FIELDS,
  type NewsTextField,
} from './datasets.js';
export { canonicalJson, contentHash } from './hash.js';
export * from './metrics/index.js';
export {
  CLASSIFIER_PRESET_NAMES,
  CLASSIFIER_PRESETS,
  type ClassifierConfig,
  type ClassifierPreset,
  type DecoderActivation,
  type DecoderConfig,
  type DecoderFamily,
  type DecoderSpec,
  decoderSpec,
  type Gpt2Config,
  gpt2ParameterCount,
  LM_PRESET_NAMES,
  LM_PRESETS,
  type LmPreset,
  type PositionKind,
} from './models.js';
export * from './objective/index.js';
export { createRng, deriveSeed, hash53, Rng, type Seed } from './rng.js';
export * from './spec/index.js';
