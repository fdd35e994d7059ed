/**
 * Hugging Face config.json → {@link DecoderConfig}, for GPT-2, OPT and XGLM. Imports `@rdlab/core`
 * only, so the spec's reference checker (`@rdlab/ml/references`) reads configs without tfjs.
 */
import type { DecoderActivation, DecoderConfig, Gpt2Config } from '@rdlab/core';

/** Reads the GPT-2 fields of a Hugging Face config.json. */
export function gpt2ConfigFromJson(
  json: Record<string, unknown>,
  where = 'config.json',
): Gpt2Config {
  const number = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: '${key}' must be a number, got ${JSON.stringify(json[key])}`);
    return v;
  };
  const activation = json.activation_function ?? 'gelu_new';
  if (activation !== 'gelu_new')
    throw new Error(
      `${where}: activation_function '${String(activation)}' is not supported; GPT-2 uses 'gelu_new'`,
    );
  if (json.tie_word_embeddings === false)
    throw new Error(`${where}: untied lm_head weights are not supported`);
  return {
    vocab_size: number('vocab_size'),
    n_positions: number('n_positions', number('n_ctx', 1024)),
    n_embd: number('n_embd'),
    n_layer: number('n_layer'),
    n_head: number('n_head'),
    layer_norm_epsilon: number('layer_norm_epsilon', 1e-5),
  };
}

const ACTIVATIONS: readonly DecoderActivation[] = ['gelu_new', 'gelu', 'relu'];

/**
 * Reads a Hugging Face config.json of any supported family by its `model_type`: `gpt2`, `opt`
 * (OPTConfig's names) or `xglm` (XGLMConfig's). Errors name the field. OPT-350m's layout
 * (`word_embed_proj_dim` ≠ `hidden_size`: project_in/project_out; `do_layer_norm_before: false`:
 * post-LN, no final LayerNorm) is refused rather than run wrong.
 */
export function decoderConfigFromJson(
  json: Record<string, unknown>,
  where = 'config.json',
): DecoderConfig {
  const type = json.model_type ?? 'gpt2';
  if (type === 'gpt2') return gpt2ConfigFromJson(json, where);
  const number = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: '${key}' must be a number, got ${JSON.stringify(json[key])}`);
    return v;
  };
  const refuse = (key: string, why: string): never => {
    throw new Error(`${where}: '${key}' ${JSON.stringify(json[key])} is not supported: ${why}`);
  };
  const activation = json.activation_function ?? (type === 'opt' ? 'relu' : 'gelu');
  if (!ACTIVATIONS.includes(activation as DecoderActivation))
    refuse('activation_function', `rdlab runs ${ACTIVATIONS.join(', ')}`);
  if (json.tie_word_embeddings === false)
    refuse('tie_word_embeddings', 'untied lm_head weights are not supported');
  if (type === 'opt') {
    const C = number('hidden_size');
    if (json.word_embed_proj_dim !== undefined && json.word_embed_proj_dim !== C)
      refuse('word_embed_proj_dim', `≠ hidden_size ${C} needs project_in/project_out (OPT-350m)`);
    if (json.do_layer_norm_before === false)
      refuse('do_layer_norm_before', 'post-LayerNorm OPT (OPT-350m) is not supported');
    if (json.enable_bias === false) refuse('enable_bias', 'OPT without biases is not supported');
    if (json.layer_norm_elementwise_affine === false)
      refuse('layer_norm_elementwise_affine', 'LayerNorms without weights are not supported');
    // modeling_opt.py: OPTLearnedPositionalEmbedding has max_position_embeddings + 2 rows and
    // reads row t + 2; nn.LayerNorm's default ε.
    return {
      family: 'opt',
      vocab_size: number('vocab_size'),
      n_positions: number('max_position_embeddings'),
      n_embd: C,
      n_layer: number('num_hidden_layers'),
      n_head: number('num_attention_heads'),
      layer_norm_epsilon: 1e-5,
      ffn_dim: number('ffn_dim'),
      activation: activation as DecoderActivation,
      position_kind: 'learned',
      position_offset: 2,
      embed_scale: 1,
    };
  }
  if (type === 'xglm') {
    const C = number('d_model');
    // modeling_xglm.py: XGLMSinusoidalPositionalEmbedding (offset 2, padding_idx 1), inputs ×
    // √d_model when scale_embedding (the default), nn.LayerNorm's default ε.
    return {
      family: 'xglm',
      vocab_size: number('vocab_size'),
      n_positions: number('max_position_embeddings'),
      n_embd: C,
      n_layer: number('num_layers'),
      n_head: number('attention_heads'),
      layer_norm_epsilon: 1e-5,
      ffn_dim: number('ffn_dim'),
      activation: activation as DecoderActivation,
      position_kind: 'sinusoidal',
      position_offset: 2,
      embed_scale: json.scale_embedding === false ? 1 : Math.sqrt(C),
    };
  }
  throw new Error(
    `${where}: 'model_type' ${JSON.stringify(type)} is not supported; rdlab runs gpt2, opt and xglm`,
  );
}
