import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, type Gpt2Config, gpt2ParameterCount, LM_PRESETS } from '@rdlab/core';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../safetensors.js';
import {
  gpt2CheckpointTensors,
  gpt2ParameterShapes,
  gpt2ParametersFromCheckpoint,
  initGpt2Parameters,
  lastBlockParameterNames,
} from './params.js';

const CONFIG: Gpt2Config = {
  vocab_size: 11,
  n_positions: 6,
  n_embd: 8,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

describe('GPT-2 parameters', () => {
  it('has Hugging Face names and the parameter counts of the presets', () => {
    const names = gpt2ParameterShapes(CONFIG).map(([n]) => n);
    assert.deepEqual(names.slice(0, 4), [
      'wte.weight',
      'wpe.weight',
      'h.0.ln_1.weight',
      'h.0.ln_1.bias',
    ]);
    const count = (c: Gpt2Config) =>
      gpt2ParameterShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
    assert.equal(count(LM_PRESETS.small), 1_325_824); // V 4096, C 128, L 4, 64 positions
    assert.equal(count(LM_PRESETS.gpt2), 124_439_808); // GPT-2 124M with tied lm_head
    assert.equal(gpt2ParameterCount(LM_PRESETS.gpt2), 124_439_808);
  });

  it('loads checkpoints with or without the transformer. prefix, ignoring mask buffers and the tied head', () => {
    const params = initGpt2Parameters(CONFIG, createRng(1));
    const original: TensorMap = new Map(params);
    original.set('h.0.attn.bias', { shape: [1, 1, 6, 6], data: new Float32Array(36).fill(1) });
    original.set('h.1.attn.masked_bias', { shape: [1], data: new Float32Array([-1e4]) });
    original.set('lm_head.weight', params.get('wte.weight')!);
    const plain = gpt2ParametersFromCheckpoint(
      decodeSafetensors(encodeSafetensors(original)).tensors,
      CONFIG,
    );
    const prefixed = gpt2ParametersFromCheckpoint(
      decodeSafetensors(encodeSafetensors(gpt2CheckpointTensors(params))).tensors,
      CONFIG,
    );
    assert.deepEqual(
      plain.get('h.1.mlp.c_proj.weight')?.data,
      params.get('h.1.mlp.c_proj.weight')?.data,
    );
    assert.deepEqual(prefixed.get('ln_f.bias')?.data, params.get('ln_f.bias')?.data);
    assert.equal(plain.size, gpt2ParameterShapes(CONFIG).length);
  });

  it('names what is missing or misshapen', () => {
    const params = initGpt2Parameters(CONFIG, createRng(1));
    params.delete('h.1.ln_2.bias');
    params.set('wpe.weight', { shape: [5, 8], data: new Float32Array(40) });
    assert.throws(
      () => gpt2ParametersFromCheckpoint(params, CONFIG),
      /wpe\.weight has shape \[5,8\], expected \[6,8\]; missing h\.1\.ln_2\.bias/,
    );
  });

  it('reads F16 and BF16 tensors as F32', () => {
    // 1.0 is 0x3c00 in F16 and 0x3f80 in BF16; -2.0 is 0xc000 and 0xc000.
    const header = JSON.stringify({
      a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
    });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const view = new DataView(bytes.buffer, 8 + header.length);
    [0x3c00, 0xc000, 0x3f80, 0xc000].forEach((v, i) => {
      view.setUint16(2 * i, v, true);
    });
    const { tensors } = decodeSafetensors(bytes);
    assert.deepEqual(Array.from(tensors.get('a')!.data), [1, -2]);
    assert.deepEqual(Array.from(tensors.get('b')!.data), [1, -2]);
  });

  it('freezes all but the last block and the final LayerNorm', () => {
    const names = lastBlockParameterNames(CONFIG);
    assert.ok(names.every((n) => n.startsWith('h.1.') || n.startsWith('ln_f.')));
    assert.equal(names.length, 14);
  });
});
