/**
 * The BERT reward model on the native and tfjs (wasm) engines: the `../shared/fixtures/tiny-bert`
 * logits (an independent float64 PyTorch BertForSequenceClassification) batched with right
 * padding, each row as alone, native gradients against tfjs's autodiff, loading variants and
 * their errors, frozen loads, fine-tuning and the Hugging Face round trip.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createRng } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import type { BertClassifier } from '../engine.js';
import type { ModelFileError } from '../errors.js';
import { ADDON_PATH } from '../native/addon.js';
import { readSafetensors, type TensorMap, writeSafetensors } from '../safetensors.js';
import { sharedPath, skipWithout } from '../test-support.js';
import { fineTuneClassifier } from '../train/fine-tune.js';
import { readBertCheckpoint, writeBertCheckpoint } from './checkpoint.js';
import { type BertConfig, bertConfigFromJson, initBertParameters } from './config.js';
import { NativeBertClassifier } from './native-bert.js';
import { TfjsBertClassifier } from './tfjs-bert.js';

const fixture = sharedPath('fixtures', 'tiny-bert');
const fixtureSkip = skipWithout(fixture, 'fixtures/tiny-bert');
const nativeSkip = existsSync(ADDON_PATH)
  ? false
  : 'the native addon is not built (npm run build:native)';

interface Reference {
  cases: Array<{ ids: number[]; logits: number[] }>;
}

/** Right-padded `[B, T]` ids (pad `padId`) and lengths. */
function padded(rows: number[][], padId = 0) {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(padId);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
  });
  return {
    batch: { ids, batchSize: rows.length, length: T },
    lengths: Int32Array.from(rows, (r) => r.length),
  };
}

type Engine = 'native' | 'wasm';
const ENGINES: Array<[Engine, string | false]> = [
  ['native', nativeSkip],
  ['wasm', false],
];

function make(
  engine: Engine,
  config: BertConfig,
  params: TensorMap,
  frozen = false,
): BertClassifier {
  return engine === 'native'
    ? new NativeBertClassifier(config, params, { frozen })
    : new TfjsBertClassifier(config, params, { frozen });
}

const tinyConfig = (over: Record<string, unknown> = {}): BertConfig =>
  bertConfigFromJson({
    model_type: 'bert',
    vocab_size: 40,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 32,
    max_position_embeddings: 12,
    num_labels: 3,
    ...over,
  });

describe('BERT sequence classifier', () => {
  before(async () => {
    await initBackend('wasm', () => {});
  });

  for (const [engine, skip] of ENGINES) {
    it(`tiny-bert logits on ${engine}: batched with right padding, to 1e-4`, {
      skip: fixtureSkip || skip,
    }, async () => {
      const dir = fixture as string;
      const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
      const { config, parameters } = await readBertCheckpoint(dir);
      const model = make(engine, config, parameters, true);
      const { batch, lengths } = padded(ref.cases.map((c) => c.ids));
      const logits = model.logits(batch, lengths);
      ref.cases.forEach((c, b) => {
        c.logits.forEach((x, k) => {
          const got = logits[b * 2 + k] as number;
          assert.ok(Math.abs(got - x) < 1e-4, `case ${b} logit ${k}: ${got} vs ${x}`);
        });
        // Alone, unpadded: the same logits as in the padded batch.
        const alone = model.logits(
          { ids: Int32Array.from(c.ids), batchSize: 1, length: c.ids.length },
          Int32Array.of(c.ids.length),
        );
        for (let k = 0; k < 2; k++)
          assert.ok(Math.abs((alone[k] as number) - (logits[b * 2 + k] as number)) < 1e-5);
      });
      model.dispose();
    });
  }

  it('padding is masked: any pad id, any amount of it, gives each row its own logits', {
    skip: nativeSkip,
  }, () => {
    const config = tinyConfig();
    const model = make('native', config, initBertParameters(config, createRng(3)), true);
    const rows = [
      [2, 5, 9, 3],
      [2, 7, 3],
      [2, 11, 12, 13, 14, 15, 3],
    ];
    const a = padded(rows, 0);
    const b = padded(rows, 17);
    const la = model.logits(a.batch, a.lengths);
    const lb = model.logits(b.batch, b.lengths);
    rows.forEach((r, i) => {
      const alone = model.logits(
        { ids: Int32Array.from(r), batchSize: 1, length: r.length },
        Int32Array.of(r.length),
      );
      for (let k = 0; k < 3; k++) {
        assert.ok(Math.abs((la[i * 3 + k] as number) - (alone[k] as number)) < 1e-5);
        assert.ok(Math.abs((lb[i * 3 + k] as number) - (alone[k] as number)) < 1e-5);
      }
    });
    model.dispose();
  });

  it('native gradients match tfjs autodiff (1e-3 relative), and one Adam step moves both alike', {
    skip: nativeSkip,
  }, () => {
    const config = tinyConfig({ classifier_dropout: 0 });
    const params = initBertParameters(config, createRng(5));
    const native = new NativeBertClassifier(config, params);
    const tfjs = new TfjsBertClassifier(config, params);
    const { batch, lengths } = padded([
      [2, 5, 9, 3],
      [2, 7, 3],
      [2, 11, 12, 13, 14, 15, 3],
      [2, 20, 21, 3],
    ]);
    const labels = Int32Array.of(0, 2, 1, 2);
    const adam = { learningRate: 1e-3 };
    const { loss: nativeLoss } = native.trainStep(batch, lengths, labels, adam, createRng(1));
    const grads = native.gradients();
    const { loss, gradients } = tfjs.lossAndGradients(batch, lengths, labels, null);
    assert.ok(Math.abs(nativeLoss - loss) < 1e-5, `loss ${nativeLoss} vs ${loss}`);
    for (const [name, g] of gradients) {
      const want = g.dataSync();
      const got = (grads.get(name) as { data: Float32Array }).data;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < want.length; i++) {
        diff += ((got[i] as number) - (want[i] as number)) ** 2;
        norm += (want[i] as number) ** 2;
      }
      assert.ok(
        Math.sqrt(diff) <= 1e-3 * Math.sqrt(norm) + 1e-7,
        `${name}: |Δ| ${Math.sqrt(diff)} vs |g| ${Math.sqrt(norm)}`,
      );
      g.dispose();
    }
    tfjs.trainStep(batch, lengths, labels, adam, createRng(1));
    const after = native.getParameters();
    for (const [name, t] of tfjs.getParameters()) {
      const n = (after.get(name) as { data: Float32Array }).data;
      for (let i = 0; i < t.data.length; i++)
        assert.ok(Math.abs((n[i] as number) - (t.data[i] as number)) < 2e-5, name);
    }
    native.dispose();
    tfjs.dispose();
  });

  for (const [engine, skip] of ENGINES) {
    it(`fine-tunes on ${engine} (loss falls), saves in the HF layout and loads back`, {
      skip,
    }, async () => {
      const config = tinyConfig({ num_labels: 2 });
      const model = make(engine, config, initBertParameters(config, createRng(7)));
      // Label 1 when token 30 appears: a task a tiny BERT learns in 20 epochs at lr 3e-3.
      const rng = createRng(9);
      const examples = Array.from({ length: 32 }, (_, i) => {
        const ids = [2, ...Array.from({ length: 5 }, () => 4 + Math.floor(rng.uniform() * 20)), 3];
        if (i % 2) ids[1 + (i % 5)] = 30;
        return { ids, label: i % 2 };
      });
      const { epochLosses } = fineTuneClassifier(model, examples, {
        epochs: 20,
        batchSize: 8,
        learningRate: 3e-3,
        seed: 1,
      });
      assert.equal(epochLosses.length, 20);
      assert.ok(
        (epochLosses[19] as number) < (epochLosses[0] as number) * 0.5,
        `losses ${epochLosses}`,
      );
      // No tensor outlives a step once Adam's moments exist.
      const tensors = tf.memory().numTensors;
      fineTuneClassifier(model, examples.slice(0, 8), { batchSize: 8, learningRate: 1e-9 });
      assert.equal(tf.memory().numTensors, tensors);
      assert.ok(model.getOptimizerState().step > 0);
      const dir = await mkdtemp(join(tmpdir(), 'rdlab-bert-'));
      await writeBertCheckpoint(dir, model.config, model.getParameters());
      const back = await readBertCheckpoint(dir);
      assert.deepEqual(back.initialised, []);
      assert.deepEqual(back.config, model.config);
      const again = make(engine, back.config, back.parameters, true);
      const { batch, lengths } = padded(examples.slice(0, 4).map((e) => e.ids));
      assert.deepEqual(again.logits(batch, lengths), model.logits(batch, lengths));
      const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      assert.deepEqual(json.architectures, ['BertForSequenceClassification']);
      model.dispose();
      again.dispose();
    });

    it(`a frozen load on ${engine} keeps no gradient or Adam state and refuses to train`, {
      skip,
    }, () => {
      const config = tinyConfig();
      const model = make(engine, config, initBertParameters(config, createRng(1)), true);
      const { batch, lengths } = padded([[2, 5, 3]]);
      assert.throws(
        () =>
          model.trainStep(batch, lengths, Int32Array.of(0), { learningRate: 1e-3 }, createRng(1)),
        /frozen/,
      );
      assert.deepEqual(model.getOptimizerState(), { step: 0, m: new Map(), v: new Map() });
      model.dispose();
    });
  }

  describe('loading', { skip: fixtureSkip }, () => {
    const copy = async (edit: (tensors: TensorMap, config: Record<string, unknown>) => void) => {
      const src = fixture as string;
      const dir = await mkdtemp(join(tmpdir(), 'rdlab-bert-load-'));
      const config = JSON.parse(await readFile(join(src, 'config.json'), 'utf8'));
      const { tensors } = await readSafetensors(join(src, 'model.safetensors'));
      edit(tensors, config);
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
      await writeSafetensors(join(dir, 'model.safetensors'), tensors);
      return dir;
    };

    it('gamma/beta LayerNorms and keys without bert. load alike', async () => {
      const base = await readBertCheckpoint(fixture as string);
      const dir = await copy((tensors) => {
        for (const [key, t] of [...tensors]) {
          tensors.delete(key);
          const renamed = key
            .replace(/^bert\./, '')
            .replace(/LayerNorm\.weight$/, 'LayerNorm.gamma')
            .replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
          tensors.set(renamed, t);
        }
        tensors.set('cls.predictions.bias', { shape: [96], data: new Float32Array(96) });
      });
      const other = await readBertCheckpoint(dir);
      assert.deepEqual([...other.parameters.keys()].sort(), [...base.parameters.keys()].sort());
      for (const [name, t] of base.parameters)
        assert.deepEqual(other.parameters.get(name)?.data, t.data, name);
      assert.deepEqual(other.initialised, []);
    });

    it('a pretraining checkpoint without classifier.* gets a seeded head, reported', async () => {
      const dir = await copy((tensors) => {
        tensors.delete('classifier.weight');
        tensors.delete('classifier.bias');
      });
      const a = await readBertCheckpoint(dir, { seed: 4 });
      const b = await readBertCheckpoint(dir, { seed: 4 });
      assert.deepEqual(a.initialised, ['classifier.weight', 'classifier.bias']);
      assert.deepEqual(
        a.parameters.get('classifier.weight'),
        b.parameters.get('classifier.weight'),
      );
    });

    it('a config/tensor disagreement names the tensor with both shapes', async () => {
      const dir = await copy((_, config) => {
        config.intermediate_size = 64;
      });
      await assert.rejects(readBertCheckpoint(dir), (e: ModelFileError) => {
        assert.equal(e.code, 'RDLAB_CHECKPOINT_MALFORMED');
        assert.match(
          e.message,
          /bert\.encoder\.layer\.0\.intermediate\.dense\.(weight|bias): expected shape \[64(,32)?\] from config\.json, found \[128(,32)?\]/,
        );
        return true;
      });
    });

    it('an unknown model_type or hidden_act names the field; a missing tensor is named', async () => {
      const roberta = await copy((_, config) => {
        config.model_type = 'roberta';
      });
      await assert.rejects(readBertCheckpoint(roberta), /'model_type' "roberta" is not supported/);
      const relu = await copy((_, config) => {
        config.hidden_act = 'relu';
      });
      await assert.rejects(readBertCheckpoint(relu), /'hidden_act' "relu" is not supported/);
      const missing = await copy((tensors) => {
        tensors.delete('bert.encoder.layer.1.attention.self.key.bias');
      });
      await assert.rejects(
        readBertCheckpoint(missing),
        /tensor bert\.encoder\.layer\.1\.attention\.self\.key\.bias is missing/,
      );
      const noConfig = await mkdtemp(join(tmpdir(), 'rdlab-bert-none-'));
      await copyFile(
        join(fixture as string, 'model.safetensors'),
        join(noConfig, 'model.safetensors'),
      );
      await assert.rejects(
        readBertCheckpoint(noConfig),
        /RDLAB_CHECKPOINT_MISSING: .*config\.json/,
      );
    });
  });
});
