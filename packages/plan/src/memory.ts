/**
 * Worker memory of a cell: what one worker holds while it trains the cell (the `train` stage, the
 * largest: β for Acc, R, and π with its training state). Per engine, since engines store weights
 * differently:
 *
 * - β is frozen and inference-only: its weights at the engine's storage dtype. Every rdlab engine
 *   stores weights in fp32 today (native, wasm/tfjs; CUDA keeps fp32 master weights even with
 *   `RDLAB_CUDA_PRECISION=bf16`, which narrows activations and GEMM inputs only). The PyTorch
 *   reference rows hold β in bf16 (2 bytes), as a bf16 inference engine would.
 * - π trains: fp32 weights + gradients + Adam m and v (16 bytes per trainable parameter); its
 *   frozen tensors (`freezeAllButLastBlock`) cost their fp32 weights only.
 * - Activations of a training step: B × T tokens × (L × (8·C + 2·F + H·T) + 2·V) fp32 values,
 *   an estimate (stored layer inputs, attention probabilities, logits and their gradient).
 * - R: its convolutions, output layer and embedding in fp32.
 */
import { type DecoderConfig, decoderSpec, gpt2ParameterCount, type SpecProblem } from '@rdlab/core';

export const GIB = 1024 ** 3;

/** Engines whose memory differs; a throughput row's backend maps onto one of them. */
export type MemoryEngine = 'native' | 'wasm' | 'cuda' | 'reference-bf16';

/** Bytes per stored weight of a frozen (inference-only) β, per engine. */
export const BEHAVIOR_WEIGHT_BYTES: Record<MemoryEngine, number> = {
  native: 4,
  wasm: 4,
  cuda: 4,
  'reference-bf16': 2,
};

/** The engine a throughput row runs on. */
export function memoryEngineOf(backend: string, reference: boolean): MemoryEngine {
  if (reference) return 'reference-bf16';
  if (backend.startsWith('cuda')) return 'cuda';
  if (backend === 'wasm' || backend.startsWith('tfjs')) return 'wasm';
  return 'native';
}

/** Families each engine runs (the CUDA engine runs GPT-2 only). */
export function engineRuns(engine: MemoryEngine, config: DecoderConfig): boolean {
  return engine !== 'cuda' || (config.family ?? 'gpt2') === 'gpt2';
}

/** Parameters of the last block and the final LayerNorm: what `freezeAllButLastBlock` trains. */
export function lastBlockParameterCount(config: DecoderConfig): number {
  const s = decoderSpec(config);
  const C = s.n_embd;
  const F = s.ffn_dim;
  // q, k, v, out projections with biases; two LayerNorms; fc1 and fc2 with biases.
  const block = 4 * C * C + 4 * C + 4 * C + 2 * C * F + F + C;
  return block + 2 * C;
}

export interface CellMemory {
  target: string;
  engine: MemoryEngine;
  /** Bytes in all, and by part. */
  bytes: number;
  behavior: number;
  targetWeights: number;
  /** π's gradients and Adam m, v (fp32) of its trainable parameters. */
  targetTrainingState: number;
  activations: number;
  reward: number;
  /** False when the engine cannot run a model of the cell (the CUDA engine: GPT-2 only). */
  runs: boolean;
}

export interface MemoryInputs {
  behavior: DecoderConfig | null;
  target: DecoderConfig | null;
  trainable: 'all' | 'last-block';
  rewardParameters: number;
  batchSize: number;
  maxLength: number;
}

/** One target's cell memory on `engine`; null when a model's size is unknown. */
export function cellMemory(name: string, engine: MemoryEngine, m: MemoryInputs): CellMemory | null {
  if (!m.behavior || !m.target) return null;
  const Nb = gpt2ParameterCount(m.behavior);
  const Np = gpt2ParameterCount(m.target);
  const trained = m.trainable === 'all' ? Np : lastBlockParameterCount(m.target);
  const s = decoderSpec(m.target);
  const perToken =
    s.n_layer * (8 * s.n_embd + 2 * s.ffn_dim + s.n_head * m.maxLength) + 2 * s.vocab_size;
  const behavior = Nb * BEHAVIOR_WEIGHT_BYTES[engine];
  const weights = Np * 4;
  const trainingState = trained * 12;
  const activations = m.batchSize * m.maxLength * perToken * 4;
  const reward = m.rewardParameters * 4;
  return {
    target: name,
    engine,
    bytes: behavior + weights + trainingState + activations + reward,
    behavior,
    targetWeights: weights,
    targetTrainingState: trainingState,
    activations,
    reward,
    runs: engineRuns(engine, m.behavior) && engineRuns(engine, m.target),
  };
}

/**
 * Problems of cells that fit no engine in `limitGiB` (`limits.workerMemoryGiB`), one per target,
 * at the target's path: the plan refuses them before anything is queued.
 */
export function memoryProblems(
  memories: readonly CellMemory[],
  targetIndex: ReadonlyMap<string, number>,
  limitGiB: number | undefined,
): SpecProblem[] {
  if (limitGiB === undefined) return [];
  const problems: SpecProblem[] = [];
  for (const [target, index] of targetIndex) {
    const mine = memories.filter((m) => m.target === target && m.runs);
    if (mine.length === 0 || mine.some((m) => m.bytes <= limitGiB * GIB)) continue;
    const least = mine.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    problems.push({
      path: `/targets/${index}`,
      value: target,
      message: `needs ${(least.bytes / GIB).toFixed(1)} GiB per worker at least (${least.engine}: β ${(least.behavior / GIB).toFixed(1)}, π weights ${(least.targetWeights / GIB).toFixed(1)} + training state ${(least.targetTrainingState / GIB).toFixed(1)} + activations ${(least.activations / GIB).toFixed(1)} GiB), more than limits.workerMemoryGiB ${limitGiB}; set freezeAllButLastBlock, a smaller training.batchSize, or workers with more memory`,
    });
  }
  return problems;
}
