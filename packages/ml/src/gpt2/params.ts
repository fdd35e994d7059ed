/**
 * GPT-2 parameters by their Hugging Face names, so any GPT-2 `model.safetensors` loads and what
 * rdlab writes loads in `transformers`. Conv1D weights are stored [in, out], as GPT-2 does.
 *
 * Legend: V vocab, P positions, C n_embd, L layers.
 */
import { type DecoderConfig, type DecoderFamily, decoderSpec, type Rng } from '@rdlab/core';
import type { NamedTensor, TensorMap } from '../safetensors.js';

/**
 * The names a family's engines use, which are its released checkpoints' own: OPT `decoder.…`
 * (facebook/opt-*; `OPTForCausalLM` adds `model.` and loads both), XGLM `model.…`
 * (`XGLMForCausalLM`), GPT-2 without the `transformer.` prefix.
 */
export function decoderPrefix(config: DecoderConfig): string {
  return config.family === 'opt' ? 'decoder.' : config.family === 'xglm' ? 'model.' : '';
}

/**
 * OPT and XGLM parameters (modeling_opt.py, modeling_xglm.py): torch Linear weights [out, in],
 * q/k/v apart, OPT's learned positions with 2 extra rows (XGLM's sinusoids are not stored).
 */
function familyParameterShapes(config: DecoderConfig): Array<[string, number[]]> {
  const s = decoderSpec(config);
  const { vocab_size: V, n_positions: P, n_embd: C, n_layer: L, ffn_dim: F } = s;
  const pre = decoderPrefix(config);
  const shapes: Array<[string, number[]]> = [[`${pre}embed_tokens.weight`, [V, C]]];
  if (s.position_kind === 'learned')
    shapes.push([`${pre}embed_positions.weight`, [P + s.position_offset, C]]);
  for (let l = 0; l < L; l++) {
    const h = `${pre}layers.${l}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj'])
      shapes.push([`${h}.self_attn.${proj}.weight`, [C, C]], [`${h}.self_attn.${proj}.bias`, [C]]);
    shapes.push(
      [`${h}.self_attn_layer_norm.weight`, [C]],
      [`${h}.self_attn_layer_norm.bias`, [C]],
      [`${h}.final_layer_norm.weight`, [C]],
      [`${h}.final_layer_norm.bias`, [C]],
      [`${h}.fc1.weight`, [F, C]],
      [`${h}.fc1.bias`, [F]],
      [`${h}.fc2.weight`, [C, F]],
      [`${h}.fc2.bias`, [C]],
    );
  }
  const final = config.family === 'opt' ? 'final_layer_norm' : 'layer_norm';
  shapes.push([`${pre}${final}.weight`, [C]], [`${pre}${final}.bias`, [C]]);
  return shapes;
}

/**
 * XGLM's constant positions, `[rows, C]`: transformers' XGLMSinusoidalPositionalEmbedding
 * .get_embedding(rows, C, padding_idx=1): row r = [sin(r·f_i) | cos(r·f_i)] for
 * f_i = exp(−i·ln(10⁴)/(C/2 − 1)), a zero column when C is odd, the padding row 1 zeroed.
 * native/src/gpt2.cc computes the same table.
 */
export function sinusoidalPositions(rows: number, C: number): Float32Array {
  const half = Math.floor(C / 2);
  const step = Math.log(10000) / (half - 1);
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    if (r === 1) continue;
    for (let i = 0; i < half; i++) {
      const angle = r * Math.exp(-i * step);
      out[r * C + i] = Math.sin(angle);
      out[r * C + half + i] = Math.cos(angle);
    }
  }
  return out;
}

/** Every parameter name with its shape, in checkpoint order (the engines' flat order). */
export function gpt2ParameterShapes(config: DecoderConfig): Array<[string, number[]]> {
  if (config.family !== undefined && config.family !== 'gpt2') return familyParameterShapes(config);
  const { vocab_size: V, n_positions: P, n_embd: C, n_layer: L } = config;
  const shapes: Array<[string, number[]]> = [
    ['wte.weight', [V, C]],
    ['wpe.weight', [P, C]],
  ];
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    shapes.push(
      [`${h}.ln_1.weight`, [C]],
      [`${h}.ln_1.bias`, [C]],
      [`${h}.attn.c_attn.weight`, [C, 3 * C]],
      [`${h}.attn.c_attn.bias`, [3 * C]],
      [`${h}.attn.c_proj.weight`, [C, C]],
      [`${h}.attn.c_proj.bias`, [C]],
      [`${h}.ln_2.weight`, [C]],
      [`${h}.ln_2.bias`, [C]],
      [`${h}.mlp.c_fc.weight`, [C, 4 * C]],
      [`${h}.mlp.c_fc.bias`, [4 * C]],
      [`${h}.mlp.c_proj.weight`, [4 * C, C]],
      [`${h}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return shapes;
}

/** Names trained when only the last block is: the block and the final LayerNorm (Table 2). */
export function lastBlockParameterNames(config: DecoderConfig): string[] {
  const pre = decoderPrefix(config);
  const gpt2 = pre === '';
  const last = gpt2 ? `h.${config.n_layer - 1}.` : `${pre}layers.${config.n_layer - 1}.`;
  const final = gpt2 ? 'ln_f.' : `${pre}${config.family === 'opt' ? 'final_' : ''}layer_norm.`;
  return gpt2ParameterShapes(config)
    .map(([name]) => name)
    .filter((name) => name.startsWith(last) || name.startsWith(final));
}

/**
 * GPT-2's initialisation: N(0, 0.02) weights, the residual projections scaled by 1/√(2L)
 * (Radford et al., 2019, §2.3), zero biases, unit LayerNorm gains.
 */
export function initGpt2Parameters(config: DecoderConfig, rng: Rng): TensorMap {
  const out: TensorMap = new Map();
  const residualStd = 0.02 / Math.sqrt(2 * config.n_layer);
  // The residual projections: GPT-2's c_proj; OPT's and XGLM's out_proj and fc2.
  const residual = /(c_proj|out_proj|fc2)\.weight$/;
  for (const [name, shape] of gpt2ParameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (/(ln_|layer_norm)/.test(name) && name.endsWith('.weight')) data.fill(1);
    else if (name.endsWith('.weight')) {
      const std = residual.test(name) ? residualStd : 0.02;
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * Checkpoint tensors → rdlab's names: the `transformer.` prefix dropped, `attn.bias` /
 * `attn.masked_bias` mask buffers and the tied `lm_head.weight` ignored; every expected tensor
 * must be present with its shape.
 */
/**
 * The rdlab name of checkpoint key `key`, or null for tensors rdlab ignores: the tied
 * `lm_head.weight`, GPT-2's `attn.bias` mask buffers, XGLM's stored sinusoids.
 */
export function parameterNameOf(key: string, family: DecoderFamily): string | null {
  // The tied head is the token embedding (tie_word_embeddings is checked with the config).
  if (key === 'lm_head.weight') return null;
  let name = key;
  if (family === 'gpt2') {
    name = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
    if (/\.attn\.(masked_)?bias$/.test(name)) return null;
  } else if (family === 'opt') {
    // facebook/opt-* files hold `decoder.…`; OPTForCausalLM.save_pretrained writes `model.decoder.…`.
    if (key.startsWith('model.')) name = key.slice('model.'.length);
  } else if (!key.startsWith('model.')) name = `model.${key}`; // XGLMModel's keys, unprefixed
  // Older XGLM files store the sinusoids as a buffer: rdlab computes them.
  if (/embed_positions\._float_tensor$|embed_positions\.weights$/.test(name)) return null;
  return name;
}

export function gpt2ParametersFromCheckpoint(tensors: TensorMap, config: DecoderConfig): TensorMap {
  const byName = new Map<string, NamedTensor>();
  const family = config.family ?? 'gpt2';
  for (const [key, tensor] of tensors) {
    const name = parameterNameOf(key, family);
    if (name !== null) byName.set(name, tensor);
  }
  const out: TensorMap = new Map();
  const problems: string[] = [];
  for (const [name, shape] of gpt2ParameterShapes(config)) {
    const t = byName.get(name);
    if (!t) problems.push(`missing ${name}`);
    else if (t.shape.join(',') !== shape.join(','))
      problems.push(`${name} has shape [${t.shape}], expected [${shape}]`);
    else out.set(name, t);
  }
  if (problems.length > 0)
    throw new Error(
      `${family === 'gpt2' ? 'GPT-2' : family.toUpperCase()} checkpoint does not match its config: ${problems.slice(0, 5).join('; ')}`,
    );
  return out;
}

/**
 * rdlab's names → the keys Hugging Face writes: GPT2LMHeadModel's `transformer.` prefix; OPT and
 * XGLM under their own names, which OPTForCausalLM / XGLMForCausalLM load (the head tied).
 */
export function gpt2CheckpointTensors(parameters: TensorMap, config?: DecoderConfig): TensorMap {
  if (config?.family !== undefined && config.family !== 'gpt2') return new Map(parameters);
  return new Map([...parameters].map(([name, t]) => [`transformer.${name}`, t]));
}
