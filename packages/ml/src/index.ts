/**
 * @rdlab/ml: the models of the method on TensorFlow.js (and, where built, the `native` CPU engine
 * and the `cuda` GPU engine): the GPT-2 behaviour and target LMs, the BPE tokenizer, the reward
 * classifier, sampling with a KV cache, teacher-forced scoring, the trainers and checkpoints.
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
  activeEngine,
  BACKENDS,
  type BackendInfo,
  type BackendName,
  initBackend,
} from './backend.js';
export {
  benchDecoding,
  benchSampling,
  benchTraining,
  forwardFlopsPerToken,
  measureMatmulGflops,
  median,
  type TrainingBench,
  trainingFlopsPerToken,
} from './bench.js';
export {
  type BertCheckpoint,
  bertParameterName,
  type ReadBertOptions,
  readBertCheckpoint,
  writeBertCheckpoint,
} from './bert/checkpoint.js';
export {
  type BertConfig,
  bertConfigFromJson,
  bertConfigJson,
  bertParameterShapes,
  initBertParameters,
  pooledDropoutMask,
} from './bert/config.js';
export { downloadVerified, type FetchedBody } from './checkpoint/download.js';
export {
  DTYPE_BYTES,
  float32ToBf16Bits,
  float32ToHalfBits,
  halfBitsToFloat32,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
} from './checkpoint/dtype.js';
export {
  CheckpointReader,
  openCheckpoint,
  readCheckpointTensors,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
} from './checkpoint/reader.js';
export {
  type LoadedTensor,
  type ReadTensorOptions,
  SafetensorsFile,
  type TensorInfo,
} from './checkpoint/safetensors-file.js';
export {
  CHECKPOINT_OPTIONAL_FILES,
  type CheckpointSourceOptions,
  cacheName,
  resolveCheckpoint,
  type S3Sender,
} from './checkpoint/source.js';
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
export {
  createBertClassifier,
  createClassifier,
  loadBertClassifier,
  randomBertClassifier,
  randomClassifier,
  saveBertClassifier,
} from './classifiers.js';
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
  BertClassifier,
  CoefficientFn,
  Decoder,
  Engine,
  GradientNorms,
  LanguageModel,
  LoadOptions,
  OptimizerState,
  RewardClassifier,
  StepResult,
  TextClassifier,
  TokenBatch,
} from './engine.js';
export { ML_FILE_ERROR_CODES, type MlFileErrorCode, ModelFileError } from './errors.js';
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
export { bpeTokenizerConfigJson, bpeTokenizerJson } from './tokenizer/export-hf.js';
export {
  type DecodeOptions,
  type EncodeOptions,
  HfTokenizer,
  loadHfTokenizer,
  loadWordPieceTokenizer,
  type SpecialIds,
  TOKENIZER_CONFIG_FILE,
  TOKENIZER_FILE,
} from './tokenizer/hf-tokenizer.js';
export type { TextTokenizer } from './tokenizer/text-tokenizer.js';
export { trainBpe } from './tokenizer/train-bpe.js';
export {
  VOCAB_FILE,
  type WordPieceOptions,
  wordPieceTokenizerJson,
} from './tokenizer/wordpiece.js';
export { epochBatches, type PaddedBatch, padBatch } from './train/batches.js';
export {
  BERT_FINE_TUNE_LEARNING_RATE,
  type FineTuneOptions,
  fineTuneClassifier,
} from './train/fine-tune.js';
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
