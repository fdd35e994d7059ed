/**
 * GPT-2 parameters by their Hugging Face names, so any GPT-2 `model.safetensors` loads and what
 * rdlab writes loads in `transformers`. Conv1D weights are stored [in, out], as GPT-2 does.
 *
 * Legend: V vocab, P positions, C n_embd, L layers.
 */
import type { Gpt2Config, Rng } from '@rdlab/core';
import type { NamedTensor, TensorMap } from '../safetensors.js';

/** Every parameter name with its shape, in checkpoint order. */
export function gpt2ParameterShapes(config: Gpt2Config): Array<[string, number[]]> {
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
export function lastBlockParameterNames(config: Gpt2Config): string[] {
  const last = `h.${config.n_layer - 1}.`;
  return gpt2ParameterShapes(config)
    .map(([name]) => name)
    .filter((name) => name.startsWith(last) || name.startsWith('ln_f.'));
}

/**
 * GPT-2's initialisation: N(0, 0.02) weights, the residual projections scaled by 1/√(2L)
 * (Radford et al., 2019, §2.3), zero biases, unit LayerNorm gains.
 */
export function initGpt2Parameters(config: Gpt2Config, rng: Rng): TensorMap {
  const out: TensorMap = new Map();
  const residualStd = 0.02 / Math.sqrt(2 * config.n_layer);
  for (const [name, shape] of gpt2ParameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.includes('ln_') && name.endsWith('.weight')) data.fill(1);
    else if (name.endsWith('.weight')) {
      const std = name.endsWith('c_proj.weight') ? residualStd : 0.02;
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
export function gpt2ParametersFromCheckpoint(tensors: TensorMap, config: Gpt2Config): TensorMap {
  const byName = new Map<string, NamedTensor>();
  for (const [key, tensor] of tensors) {
    const name = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
    if (/\.attn\.(masked_)?bias$/.test(name) || name === 'lm_head.weight') continue;
    byName.set(name, tensor);
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
      `GPT-2 checkpoint does not match its config: ${problems.slice(0, 5).join('; ')}`,
    );
  return out;
}

/** rdlab's names → the keys Hugging Face's GPT2LMHeadModel writes (`transformer.` prefix). */
export function gpt2CheckpointTensors(parameters: TensorMap): TensorMap {
  return new Map([...parameters].map(([name, t]) => [`transformer.${name}`, t]));
}
