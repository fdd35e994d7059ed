/**
 * Model presets by name. The numbers live here, beside the spec that names them, so a spec is
 * validated without loading tfjs; `@rdlab/ml` builds the models from these configs.
 *
 * Legend: V = vocabulary size, C = embedding width (n_embd), L = layers, H = heads,
 * P = positions (n_positions). Names follow Hugging Face's GPT-2 config.json.
 */

/** A GPT-2 architecture, with Hugging Face config.json names. */
export interface Gpt2Config {
  vocab_size: number; // V
  n_positions: number; // P: longest sequence, prefix included
  n_embd: number; // C
  n_layer: number; // L
  n_head: number; // H; C must be divisible by H
  layer_norm_epsilon: number;
}

/** Causal decoder families rdlab runs; later ones (rotary, RMSNorm, gated MLP, GQA: Llama-like) would join here. */
export type DecoderFamily = 'gpt2' | 'opt' | 'xglm';
/** FFN activations by transformers' names: tanh GELU (GPT-2), erf GELU (XGLM), ReLU (OPT). */
export type DecoderActivation = 'gelu_new' | 'gelu' | 'relu';
/** Position embeddings: a learned table, or constant sinusoids (XGLM). Later: `'rotary'`. */
export type PositionKind = 'learned' | 'sinusoidal';

/**
 * One description of a pre-LayerNorm causal decoder with a tied head: GPT-2, OPT, XGLM. The
 * GPT-2 fields keep GPT-2's config.json names (every existing config is a DecoderConfig); the
 * rest are optional and default to GPT-2's architecture, so GPT-2 stays the default path. Use
 * {@link decoderSpec} to read them resolved. All three have a final LayerNorm and a head tied to
 * the token embedding; a family without (or with RMSNorm, gated MLPs, grouped-query attention)
 * would add fields here.
 */
export interface DecoderConfig extends Gpt2Config {
  family?: DecoderFamily;
  /** FFN width (GPT-2: 4C; OPT/XGLM's `ffn_dim`). */
  ffn_dim?: number;
  activation?: DecoderActivation;
  position_kind?: PositionKind;
  /** Position t reads row t + offset (OPT and XGLM: 2, after fairseq's padding rows). */
  position_offset?: number;
  /** Multiplies the input token embeddings, not the tied head (XGLM: √C). */
  embed_scale?: number;
}

/** A DecoderConfig with every field resolved. */
export type DecoderSpec = Required<DecoderConfig> & { final_layer_norm: true; tied_head: true };

export function decoderSpec(c: DecoderConfig): DecoderSpec {
  return {
    ...c,
    family: c.family ?? 'gpt2',
    ffn_dim: c.ffn_dim ?? 4 * c.n_embd,
    activation: c.activation ?? 'gelu_new',
    position_kind: c.position_kind ?? 'learned',
    position_offset: c.position_offset ?? 0,
    embed_scale: c.embed_scale ?? 1,
    final_layer_norm: true,
    tied_head: true,
  };
}

export const LM_PRESETS = {
  /** ≈0.24M parameters: unit tests and the demo on one CPU core. */
  tiny: {
    vocab_size: 2048,
    n_positions: 64,
    n_embd: 64,
    n_layer: 2,
    n_head: 2,
    layer_norm_epsilon: 1e-5,
  },
  /** ≈1.3M parameters: the real-data runs on a CPU node (the native backend's reference model). */
  small: {
    vocab_size: 4096,
    n_positions: 64,
    n_embd: 128,
    n_layer: 4,
    n_head: 4,
    layer_norm_epsilon: 1e-5,
  },
  /** GPT-2 124M: the paper's target model. */
  gpt2: {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    layer_norm_epsilon: 1e-5,
  },
  'gpt2-medium': {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 1024,
    n_layer: 24,
    n_head: 16,
    layer_norm_epsilon: 1e-5,
  },
  /** GPT-2 774M (Table 2). */
  'gpt2-large': {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 1280,
    n_layer: 36,
    n_head: 20,
    layer_norm_epsilon: 1e-5,
  },
  /**
   * OPT-6.7B (facebook/opt-6.7b config.json): the paper's behaviour model (Table 1). Named for
   * planning and from-scratch runs; its weights come from a checkpoint reference.
   */
  'opt-6.7b': {
    family: 'opt',
    vocab_size: 50272,
    n_positions: 2048,
    n_embd: 4096,
    n_layer: 32,
    n_head: 32,
    layer_norm_epsilon: 1e-5,
    ffn_dim: 16384,
    activation: 'relu',
    position_kind: 'learned',
    position_offset: 2,
    embed_scale: 1,
  },
  /** XGLM-1.7B (facebook/xglm-1.7B config.json): the paper's multilingual behaviour model. */
  'xglm-1.7b': {
    family: 'xglm',
    vocab_size: 256008,
    n_positions: 2048,
    n_embd: 2048,
    n_layer: 24,
    n_head: 16,
    layer_norm_epsilon: 1e-5,
    ffn_dim: 8192,
    activation: 'gelu',
    position_kind: 'sinusoidal',
    position_offset: 2,
    embed_scale: Math.sqrt(2048),
  },
} as const satisfies Record<string, DecoderConfig>;

export type LmPreset = keyof typeof LM_PRESETS;
export const LM_PRESET_NAMES = Object.keys(LM_PRESETS) as LmPreset[];

/** Reward-model (text classifier) architectures. */
export interface ClassifierConfig {
  /** Token embedding width. */
  embedDim: number;
  /** Convolution widths (tokens), one filter bank each. */
  kernelSizes: number[];
  /** Filters per kernel size. */
  filters: number;
  /** Longest input in tokens; longer inputs are truncated. */
  maxLength: number;
  dropout: number;
}

export const CLASSIFIER_PRESETS = {
  /** A Kim (2014)-style CNN over learned embeddings: fast on CPU, ≥90% on Yelp sentiment. */
  cnn: { embedDim: 64, kernelSizes: [2, 3, 4], filters: 64, maxLength: 64, dropout: 0.2 },
  'cnn-large': {
    embedDim: 128,
    kernelSizes: [2, 3, 4, 5],
    filters: 128,
    maxLength: 128,
    dropout: 0.3,
  },
} as const satisfies Record<string, ClassifierConfig>;

export type ClassifierPreset = keyof typeof CLASSIFIER_PRESETS;
export const CLASSIFIER_PRESET_NAMES = Object.keys(CLASSIFIER_PRESETS) as ClassifierPreset[];

/** Parameters of a GPT-2 with tied embeddings (lm_head shares wte); other families by their layout. */
export function gpt2ParameterCount(c: DecoderConfig): number {
  const C = c.n_embd;
  if (c.family !== undefined && c.family !== 'gpt2') {
    const s = decoderSpec(c);
    const F = s.ffn_dim;
    const positions = s.position_kind === 'learned' ? (c.n_positions + s.position_offset) * C : 0;
    return (
      c.vocab_size * C + positions + c.n_layer * (4 * C * C + 8 * C + 2 * C * F + F + C) + 2 * C
    );
  }
  const block =
    2 * C /* ln_1 */ +
    C * 3 * C +
    3 * C /* c_attn */ +
    C * C +
    C /* attn c_proj */ +
    2 * C /* ln_2 */ +
    C * 4 * C +
    4 * C /* c_fc */ +
    4 * C * C +
    C; /* mlp c_proj */
  return c.vocab_size * C + c.n_positions * C + c.n_layer * block + 2 * C;
}
