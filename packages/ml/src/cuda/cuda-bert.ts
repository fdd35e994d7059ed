/**
 * The BERT reward model on the CUDA engine, for scoring only (cuda/src/bert.cu): the same class
 * logits as {@link NativeBertClassifier} from one batched forward on the GPU, at the precision of
 * `RDLAB_CUDA_PRECISION` (fp32, tf32, bf16). It keeps no gradients or Adam state, so it is always
 * {@link BertClassifier.frozen} and `trainStep` throws: fine-tuning R stays on the CPU engines
 * (the cuda engine's `sequenceClassifier` lends the native one for a trainable load).
 */

import { type BertConfig, bertParameterShapes, prepareBertBatch } from '../bert/config.js';
import type { AdamOptions, BertClassifier, TokenBatch } from '../engine.js';
import { frozenError } from '../engine.js';
import { NativeParameters } from '../native/flat.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { type CudaBertHandle, loadCudaAddon } from './addon.js';
import { type CudaPrecision, cudaPrecision } from './cuda-gpt2.js';

export class CudaBertClassifier extends ParameterOwner implements BertClassifier {
  readonly backend = 'cuda';
  readonly frozen = true;
  readonly vocabSize: number;
  readonly numClasses: number;
  readonly maxLength: number;
  protected readonly parameters: NativeParameters<CudaBertHandle>;

  constructor(
    readonly config: BertConfig,
    parameters: TensorMap,
    readonly precision: CudaPrecision = cudaPrecision(),
  ) {
    super();
    this.vocabSize = config.vocab_size;
    this.numClasses = config.num_labels;
    this.maxLength = config.max_position_embeddings;
    this.parameters = new NativeParameters(
      bertParameterShapes(config),
      parameters,
      'bert',
      (flat) => new (loadCudaAddon().CudaBert)(config, flat, precision),
    );
  }

  /** Class logits `[B, K]`: ids truncated to `max_position_embeddings` as the native engine does. */
  logits(batch: TokenBatch, lengths: Int32Array): Float32Array {
    const p = prepareBertBatch(this.config, batch.ids, batch.batchSize, batch.length, lengths);
    return this.parameters.handle.logits(p.ids, p.lengths, batch.batchSize, p.length);
  }

  trainStep(
    _batch: TokenBatch,
    _lengths: Int32Array,
    _labels: Int32Array,
    _options: AdamOptions,
  ): { loss: number } {
    throw frozenError(
      'BERT classifier (CUDA: scoring only; fine-tune on the native engine)',
      'trainStep',
    );
  }
}
