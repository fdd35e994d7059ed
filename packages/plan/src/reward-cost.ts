/**
 * What the reward model R costs, by family. The CNN: 2·N FLOPs per token (N its convolution and
 * output weights; its embedding is a lookup), over β's T tokens. BERT (Devlin et al. 2018): per
 * token forward 2·(12·L·C²) for the encoder's matmuls (Q, K, V, output: 4·C²; the feed-forward
 * 2·C·F = 8·C² at F = 4·C) plus 4·L·T·C for attention's scores and weighted sum, over R's own
 * WordPiece input; training ≈ 3× forward. Memory: fp32 weights + gradients + Adam m, v while
 * fine-tuning (16 bytes per parameter), weights only when frozen (4).
 *
 * A BERT's size comes from its checkpoint's name (bert-base, bert-large; else bert-base, the
 * authors' bert-base-uncased): the plan reads no files.
 */
import { CLASSIFIER_PRESET_NAMES, CLASSIFIER_PRESETS, type SweepSpec } from '@rdlab/core';
import { presetFromName } from './preset-name.js';

export type RewardFamily = 'cnn' | 'bert';

export interface RewardCost {
  family: RewardFamily;
  /** Parameters (BERT: all of them; the CNN: the N of 2·N). */
  parameters: number;
  /** FLOPs of one forward pass over one sequence as R reads it. */
  forwardPerSequence: number;
  /** Tokens R reads per β sample. */
  tokens: number;
  /** Tokens of a training sentence R is fine-tuned or trained on. */
  trainingTokens: number;
  /** FLOPs of one forward pass over one training sentence (×3 for a training step). */
  trainingForwardPerSequence: number;
  source: string;
}

interface BertSize {
  layers: number;
  hidden: number;
  intermediate: number;
  vocab: number;
  positions: number;
}

const BERT_SIZES: Record<string, BertSize> = {
  'bert-base': { layers: 12, hidden: 768, intermediate: 3072, vocab: 30522, positions: 512 },
  'bert-large': { layers: 24, hidden: 1024, intermediate: 4096, vocab: 30522, positions: 512 },
};

/** A BERT's parameters: embeddings, L encoder layers, pooler and a K-label head. */
export function bertParameterCount(s: BertSize, labels: number): number {
  const C = s.hidden;
  const F = s.intermediate;
  const layer = 4 * (C * C + C) + 2 * C * F + F + C + 4 * C;
  return (s.vocab + s.positions + 2) * C + 2 * C + s.layers * layer + C * C + C + labels * (C + 1);
}

/** Forward FLOPs per token of a BERT reading `T` tokens (see the module comment). */
export function bertForwardFlopsPerToken(s: BertSize, T: number): number {
  const C = s.hidden;
  return 2 * s.layers * (4 * C * C + 2 * C * s.intermediate) + 4 * s.layers * T * C;
}

/**
 * R's cost for a dataset of `classes` classes; null for a checkpoint that names a CNN preset
 * nowhere and is not BERT-like (an rdlab CNN checkpoint of unknown size).
 */
export function rewardCost(spec: SweepSpec, classes: number): RewardCost | null {
  const { model, finetune } = spec.rewardModel;
  const T = spec.training.maxLength;
  const preset = model.preset ?? presetFromName(model.checkpoint ?? '', CLASSIFIER_PRESET_NAMES);
  if (preset !== null) {
    const c = CLASSIFIER_PRESETS[preset];
    const conv = c.kernelSizes.reduce((a, k) => a + k * c.embedDim * c.filters + c.filters, 0);
    const n = conv + c.kernelSizes.length * c.filters * classes + classes;
    return {
      family: 'cnn',
      parameters: n,
      forwardPerSequence: 2 * n * T,
      tokens: T,
      trainingTokens: c.maxLength,
      trainingForwardPerSequence: 2 * n * c.maxLength,
      source: model.preset ? `preset ${preset}` : `preset ${preset}, from the checkpoint's name`,
    };
  }
  const name = (model.checkpoint ?? '').toLowerCase();
  const known = Object.keys(BERT_SIZES).find((k) => name.includes(k));
  const size = BERT_SIZES[known ?? 'bert-base'] as BertSize;
  const maxLength = finetune === false || finetune === undefined ? 512 : finetune.maxLength;
  // β's T tokens re-read as WordPiece: about as many, plus [CLS] and [SEP].
  const tokens = Math.min(maxLength, T + 2);
  return {
    family: 'bert',
    parameters: bertParameterCount(size, classes),
    forwardPerSequence: bertForwardFlopsPerToken(size, tokens) * tokens,
    tokens,
    trainingTokens: maxLength,
    trainingForwardPerSequence: bertForwardFlopsPerToken(size, maxLength) * maxLength,
    source: known
      ? `BERT ${known} (L ${size.layers}, C ${size.hidden}), from the checkpoint's name`
      : `BERT of unknown size: priced as bert-base-uncased (the authors' R; L 12, C 768)`,
  };
}
