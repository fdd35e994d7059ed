/**
 * @rdlab/ml: the models of the method on TensorFlow.js (and, where built, the native engine):
 * the GPT-2 behaviour and target LMs, the BPE tokenizer, the reward classifier, sampling with a
 * KV cache, teacher-forced scoring, the trainers and checkpoints.
 *
 * ```ts
 * import { createRng, LM_PRESETS } from '@rdlab/core';
 * import { generate, initBackend, randomLanguageModel } from '@rdlab/ml';
 *
 * await initBackend(); // RDLAB_BACKEND, else the fastest that loads
 * const beta = randomLanguageModel(LM_PRESETS.tiny, 1);
 * const samples = generate(beta, Int32Array.from([5, 6, 7, 8]), 1, { maxLength: 30, temperature: 0.4, eosId: 0, rng: createRng(1) });
 * beta.dispose();
 * ```
 */
export {
  activeBackend,
  BACKENDS,
  type BackendInfo,
  type BackendName,
  initBackend,
  nativeEngine,
} from './backend.js';
export {
  benchDecoding,
  benchSampling,
  benchTraining,
  forwardFlopsPerToken,
  matmulBenchmarks,
  measureMatmulGflops,
  median,
  phaseProfilers,
  type TrainingBench,
  trainingFlopsPerToken,
} from './bench.js';
export {
  loadClassifierCheckpoint,
  loadLanguageModelCheckpoint,
  saveClassifier,
  saveLanguageModel,
  type TrainerState,
} from './checkpoint.js';
export {
  classifierParameterShapes,
  initClassifierParameters,
  windowMask,
} from './classifier/params.js';
export { classifierEngines, createClassifier, randomClassifier } from './classifiers.js';
export {
  CUDA_PRECISIONS,
  CudaGpt2,
  type CudaPrecision,
  type CudaStatus,
  cudaPrecision,
  cudaStatus,
  loadCudaAddon,
} from './cuda/index.js';
export type {
  AdamOptions,
  CoefficientFn,
  Decoder,
  GradientNorms,
  LanguageModel,
  OptimizerState,
  StepResult,
  TextClassifier,
  TokenBatch,
} from './engine.js';
export {
  decoderConfigFromJson,
  decoderConfigJson,
  gpt2ConfigFromJson,
  gpt2ConfigJson,
  readGpt2Checkpoint,
  writeGpt2Checkpoint,
} from './gpt2/checkpoint-files.js';
export {
  decoderPrefix,
  gpt2CheckpointTensors,
  gpt2ParameterShapes,
  gpt2ParametersFromCheckpoint,
  initGpt2Parameters,
  lastBlockParameterNames,
  sinusoidalPositions,
} from './gpt2/params.js';
export { TfjsGpt2 } from './gpt2/tfjs-gpt2.js';
export {
  createLanguageModel,
  languageModelEngines,
  loadLanguageModel,
  presetConfig,
  randomLanguageModel,
} from './models.js';
export { blasCoreType, loadAddon, NativeCnnClassifier, NativeGpt2 } from './native/index.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  readSafetensors,
  type TensorMap,
  writeSafetensors,
} from './safetensors.js';
export {
  type Generation,
  generate,
  generatedRows,
  type SamplingOptions,
  sampleRow,
} from './sampler.js';
export { scoreSequences, scoreTokens } from './scorer.js';
export { BpeTokenizer, END_OF_TEXT } from './tokenizer/bpe.js';
export { trainBpe } from './tokenizer/train-bpe.js';
export { epochBatches, type PaddedBatch, padBatch } from './train/batches.js';
export {
  classifierAccuracy,
  classify,
  type LabelledSequence,
  pretrainLanguageModel,
  type SupervisedOptions,
  type TrainingProgress,
  trainClassifier,
} from './train/pretrain.js';
export {
  type BehaviorBatch,
  type RewardDropoutDetail,
  type RewardDropoutOptions,
  type RewardDropoutStep,
  rewardDropoutGradients,
  rewardDropoutStep,
} from './train/reward-dropout.js';
