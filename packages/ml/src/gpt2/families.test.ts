/**
 * The decoder families beside GPT-2 (OPT, XGLM) on the native and tfjs (wasm) engines, against
 * `../shared/fixtures/tiny-opt` and `tiny-xglm`: independent float64 PyTorch references written
 * from modeling_opt.py and modeling_xglm.py. The golden reward-dropout steps run through
 * `rdlab model step` (apps/cli/test/model-step.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createRng, type DecoderConfig } from '@rdlab/core';
import { initBackend } from '../backend.js';
import { loadLanguageModel, saveLanguageModel } from '../index.js';
import { createLanguageModel } from '../models.js';
import { ADDON_PATH } from '../native/addon.js';
import { readSafetensors, type TensorMap, writeSafetensors } from '../safetensors.js';
import { generate } from '../sampler.js';
import { sharedPath, skipWithout } from '../test-support.js';
import { decoderConfigFromJson, readGpt2Checkpoint } from './checkpoint-files.js';
import { gpt2ParameterShapes, initGpt2Parameters, lastBlockParameterNames } from './params.js';

interface Reference {
  cases: Array<{ ids: number[]; token_logprobs: number[]; last_logits_first8: number[] }>;
}

const FAMILIES = ['opt', 'xglm'] as const;
const fixture = (family: string) => sharedPath('fixtures', `tiny-${family}`);
const nativeSkip = existsSync(ADDON_PATH)
  ? false
  : 'the native addon is not built (npm run build:native)';

function batchOf(ids: number[]) {
  return { ids: Int32Array.from(ids), batchSize: 1, length: ids.length };
}

describe('decoder configs from config.json', () => {
  it('reads OPT and XGLM by model_type, and GPT-2 as before', () => {
    const opt = decoderConfigFromJson({
      model_type: 'opt',
      vocab_size: 96,
      hidden_size: 32,
      word_embed_proj_dim: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      ffn_dim: 128,
      max_position_embeddings: 16,
      activation_function: 'relu',
    });
    assert.deepEqual(
      [opt.family, opt.position_kind, opt.position_offset, opt.activation, opt.ffn_dim],
      ['opt', 'learned', 2, 'relu', 128],
    );
    const xglm = decoderConfigFromJson({
      model_type: 'xglm',
      vocab_size: 96,
      d_model: 64,
      num_layers: 2,
      attention_heads: 4,
      ffn_dim: 128,
      max_position_embeddings: 16,
    });
    assert.deepEqual(
      [xglm.family, xglm.position_kind, xglm.embed_scale, xglm.activation],
      ['xglm', 'sinusoidal', 8, 'gelu'],
    );
    const gpt2 = decoderConfigFromJson({
      model_type: 'gpt2',
      vocab_size: 50,
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
    });
    assert.equal(gpt2.family, undefined);
  });

  it('refuses what it cannot run, naming the config field', () => {
    const opt = {
      model_type: 'opt',
      vocab_size: 96,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      ffn_dim: 128,
      max_position_embeddings: 16,
    };
    assert.throws(() => decoderConfigFromJson({ model_type: 'llama' }), /'model_type' "llama"/);
    assert.throws(
      () => decoderConfigFromJson({ ...opt, word_embed_proj_dim: 16 }),
      /'word_embed_proj_dim' 16 is not supported: ≠ hidden_size 32 needs project_in\/project_out/,
    );
    assert.throws(
      () => decoderConfigFromJson({ ...opt, do_layer_norm_before: false }),
      /'do_layer_norm_before'/,
    );
    assert.throws(
      () => decoderConfigFromJson({ ...opt, activation_function: 'silu' }),
      /'activation_function' "silu"/,
    );
    assert.throws(() => decoderConfigFromJson({ ...opt, hidden_size: undefined }), /'hidden_size'/);
  });
});

for (const engine of ['native', 'wasm'] as const) {
  describe(`OPT and XGLM on the ${engine} engine`, {
    skip: engine === 'native' ? nativeSkip : false,
  }, () => {
    before(async () => {
      await initBackend(engine, () => {});
    });

    for (const family of FAMILIES) {
      const dir = fixture(family);
      const skip = skipWithout(dir, `fixtures/tiny-${family}`);

      it(`${family}: loadLanguageModel reproduces the reference log-probabilities and last logits to 1e-4`, {
        skip,
      }, async () => {
        const model = await loadLanguageModel(dir!);
        assert.equal(model.backend, engine);
        assert.equal(model.config.family, family);
        const reference = JSON.parse(
          readFileSync(join(dir!, 'reference.json'), 'utf8'),
        ) as Reference;
        for (const c of reference.cases) {
          const logp = model.tokenLogprobs(batchOf(c.ids));
          c.token_logprobs.forEach((expected, i) => {
            const got = logp[i + 1] as number;
            assert.ok(Math.abs(got - expected) < 1e-4, `logprob ${i}: ${got} vs ${expected}`);
          });
          const logits = model.logits(batchOf(c.ids));
          const last = (c.ids.length - 1) * model.config.vocab_size;
          c.last_logits_first8.forEach((expected, i) => {
            const got = logits[last + i] as number;
            assert.ok(Math.abs(got - expected) < 1e-4, `logit ${i}: ${got} vs ${expected}`);
          });
        }
        model.dispose();
      });

      it(`${family}: KV-cached decoding equals recomputation, logits and samples`, {
        skip,
      }, async () => {
        const model = await loadLanguageModel(dir!);
        const B = 3;
        const rng = createRng(11);
        const prefixes = Int32Array.from({ length: B * 3 }, () => 3 + rng.int(90));
        const cached = model.decoder(B);
        const recomputed = model.decoder(B, { cache: false });
        let step: Int32Array = prefixes;
        let n = 3;
        for (let t = 0; t < 10; t++) {
          const a = cached.next(step, n);
          const b = recomputed.next(step, n);
          for (let i = 0; i < a.length; i++)
            assert.ok(
              Math.abs((a[i] as number) - (b[i] as number)) < 1e-4,
              `step ${t}, logit ${i}: ${a[i]} vs ${b[i]}`,
            );
          step = Int32Array.from({ length: B }, () => 3 + rng.int(90));
          n = 1;
        }
        cached.dispose();
        recomputed.dispose();
        const options = { maxLength: 14, temperature: 0.8, topK: 20, eosId: 2 };
        const g1 = generate(model, prefixes, B, { ...options, rng: createRng(5) });
        const g2 = generate(model, prefixes, B, { ...options, rng: createRng(5), cache: false });
        assert.deepEqual(g1.ids, g2.ids);
        for (let i = 0; i < g1.tokenLogprobs.length; i++)
          assert.ok(
            Math.abs((g1.tokenLogprobs[i] as number) - (g2.tokenLogprobs[i] as number)) < 1e-4,
          );
        model.dispose();
      });

      it(`${family}: save → load keeps the family's layout and tensor names`, {
        skip,
      }, async () => {
        const model = await loadLanguageModel(dir!);
        const out = await mkdtemp(join(tmpdir(), `rdlab-${family}-`));
        await saveLanguageModel(out, model, { withOptimizer: false });
        const written = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        assert.equal(written.model_type, family);
        const original = (await readSafetensors(join(dir!, 'model.safetensors'))).tensors;
        const saved = (await readSafetensors(join(out, 'model.safetensors'))).tensors;
        const names = (t: TensorMap) => [...t.keys()].filter((k) => k !== 'lm_head.weight').sort();
        assert.deepEqual(names(saved), names(original));
        for (const [name, t] of saved)
          assert.deepEqual(t.data, original.get(name)?.data, `${name} changed`);
        const again = await loadLanguageModel(out);
        const ids = [5, 9, 40, 77, 13, 60];
        assert.deepEqual(again.tokenLogprobs(batchOf(ids)), model.tokenLogprobs(batchOf(ids)));
        model.dispose();
        again.dispose();
      });
    }

    it('opt: the `model.`-prefixed OPTForCausalLM layout with lm_head.weight loads alike', {
      skip: skipWithout(fixture('opt'), 'fixtures/tiny-opt'),
    }, async () => {
      const dir = fixture('opt')!;
      const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
      const prefixed: TensorMap = new Map([...tensors].map(([k, t]) => [`model.${k}`, t]));
      prefixed.set('lm_head.weight', tensors.get('decoder.embed_tokens.weight')!);
      const out = await mkdtemp(join(tmpdir(), 'rdlab-opt-prefixed-'));
      await writeSafetensors(join(out, 'model.safetensors'), prefixed, { format: 'pt' });
      const config = readFileSync(join(dir, 'config.json'), 'utf8');
      await writeFile(join(out, 'config.json'), config);
      const [a, b] = [await loadLanguageModel(dir), await loadLanguageModel(out)];
      const ids = [7, 30, 31, 90, 4];
      assert.deepEqual(b.tokenLogprobs(batchOf(ids)), a.tokenLogprobs(batchOf(ids)));
      assert.deepEqual(
        [...b.getParameters().keys()],
        [...a.getParameters().keys()],
        'the engine sees the same names',
      );
      a.dispose();
      b.dispose();
    });

    it('xglm: XGLMModel keys without the `model.` prefix load alike', {
      skip: skipWithout(fixture('xglm'), 'fixtures/tiny-xglm'),
    }, async () => {
      const dir = fixture('xglm')!;
      const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
      const bare: TensorMap = new Map(
        [...tensors]
          .filter(([k]) => k !== 'lm_head.weight')
          .map(([k, t]) => [k.replace(/^model\./, ''), t]),
      );
      const out = await mkdtemp(join(tmpdir(), 'rdlab-xglm-bare-'));
      await writeSafetensors(join(out, 'model.safetensors'), bare, { format: 'pt' });
      const config = readFileSync(join(dir, 'config.json'), 'utf8');
      await writeFile(join(out, 'config.json'), config);
      const [a, b] = [await loadLanguageModel(dir), await loadLanguageModel(out)];
      const ids = [7, 30, 31, 90, 4];
      assert.deepEqual(b.tokenLogprobs(batchOf(ids)), a.tokenLogprobs(batchOf(ids)));
      a.dispose();
      b.dispose();
    });

    it('trains only the last block and the final LayerNorm on request', async () => {
      const config: DecoderConfig = {
        family: 'opt',
        vocab_size: 40,
        n_positions: 12,
        n_embd: 16,
        n_layer: 2,
        n_head: 2,
        layer_norm_epsilon: 1e-5,
        ffn_dim: 24,
        activation: 'relu',
        position_kind: 'learned',
        position_offset: 2,
      };
      const model = createLanguageModel(config, initGpt2Parameters(config, createRng(1)));
      const names = lastBlockParameterNames(config);
      assert.ok(names.includes('decoder.layers.1.fc1.weight'));
      assert.ok(names.includes('decoder.final_layer_norm.bias'));
      assert.equal(names.length, 18);
      model.setTrainable(names);
      const before = model.getParameters();
      const batch = {
        ids: Int32Array.from({ length: 16 }, (_, i) => 3 + i),
        batchSize: 2,
        length: 8,
      };
      model.trainStep(batch, new Float32Array(16).fill(1), () => [1, 1], { learningRate: 0.01 });
      const after = model.getParameters();
      for (const [name] of gpt2ParameterShapes(config)) {
        const moved = after.get(name)!.data.some((x, i) => x !== before.get(name)!.data[i]);
        assert.equal(moved, names.includes(name), name);
      }
      model.dispose();
    });
  });
}

describe('native and wasm agree on OPT and XGLM gradients', { skip: nativeSkip }, () => {
  it('loss to 1e-5 and every gradient to 1e-3 relative, on the fixtures', {
    skip: skipWithout(fixture('xglm'), 'fixtures/tiny-xglm'),
  }, async () => {
    const { NativeGpt2 } = await import('../native/native-gpt2.js');
    const { TfjsGpt2 } = await import('./tfjs-gpt2.js');
    await initBackend('wasm', () => {});
    for (const family of FAMILIES) {
      const { config, parameters } = await readGpt2Checkpoint(fixture(family)!);
      const rng = createRng(2);
      const batch = {
        ids: Int32Array.from({ length: 24 }, () => 3 + rng.int(90)),
        batchSize: 3,
        length: 8,
      };
      const mask = Float32Array.from({ length: 24 }, (_, i) => (i % 8 === 0 ? 0 : 1)); // t = 0 predicts nothing
      const coefficients = () => [1, 0.5, 2];
      const n = new NativeGpt2(config, parameters).lossAndGradients(batch, mask, coefficients);
      const w = new TfjsGpt2(config, parameters);
      const t = w.gradientNorms(batch, mask, coefficients);
      assert.ok(Math.abs(n.loss - t.loss) < 1e-5, `${family} loss ${n.loss} vs ${t.loss}`);
      for (const [name, norm] of Object.entries(t.gradientNorms)) {
        const g = n.gradients.get(name)!.data;
        const native = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
        assert.ok(
          Math.abs(native - norm) <= 1e-3 * norm + 1e-6,
          `${family} ${name}: ${native} vs ${norm}`,
        );
      }
      w.dispose();
    }
  });
});
