/**
 * Test support: two tiny checkpoint folders whose tokenizers differ, for the tokenizer end-to-end
 * tests (packages/pipeline/test/tokenizers.test.ts, apps/cli/test/tokenizers-stack.test.ts):
 * β a tiny OPT (random weights, HF layout) whose tokenizer.json is an in-house BPE trained on the
 * demo corpus with OPT's ids (`<s> <pad> </s> <unk>` first) and OPT's post-processor (`</s>`
 * prepended); π a tiny GPT-2 whose tokenizer.json is another BPE of the same corpus (GPT-2's
 * layout, `<|endoftext|>` last).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng, type DecoderConfig } from '@rdlab/core';
import { demoSplit } from '@rdlab/data';
import {
  bpeTokenizerConfigJson,
  bpeTokenizerJson,
  createLanguageModel,
  END_OF_TEXT,
  HfTokenizer,
  initGpt2Parameters,
  presetConfig,
  saveLanguageModel,
  trainBpe,
} from '@rdlab/ml';

const OPT_SPECIAL = ['<s>', '<pad>', '</s>', '<unk>'];

/** An in-house BPE as OPT's tokenizer.json: specials 0–3, the BPE's tokens after them. */
function optTokenizerJson(vocabSize: number): Record<string, unknown> {
  const json = bpeTokenizerJson(trainBpe(texts(), vocabSize));
  const model = json.model as { vocab: Record<string, number> };
  const ordered = Object.entries(model.vocab)
    .filter(([token]) => token !== END_OF_TEXT)
    .sort((a, b) => a[1] - b[1]);
  const vocab: Record<string, number> = Object.fromEntries(OPT_SPECIAL.map((t, i) => [t, i]));
  ordered.forEach(([token], i) => {
    vocab[token] = OPT_SPECIAL.length + i;
  });
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    ...json,
    added_tokens: OPT_SPECIAL.map((t, i) => special(t, i)),
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    model: { ...(json.model as object), vocab },
  };
}

const OPT_CONFIG = { bos_token: '</s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' };

let corpus: string[] | null = null;
function texts(): string[] {
  corpus ??= demoSplit('train').map((r) => r.text);
  return corpus;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

/** Writes `root/beta` (tiny OPT) and `root/pi` (tiny GPT-2); returns their paths. */
export async function writeTinyCheckpoints(root: string): Promise<{ beta: string; pi: string }> {
  const beta = join(root, 'beta');
  const pi = join(root, 'pi');
  await mkdir(beta, { recursive: true });
  await mkdir(pi, { recursive: true });

  const betaJson = optTokenizerJson(420);
  const betaVocab = HfTokenizer.fromJson(betaJson, OPT_CONFIG).vocabSize;
  const opt: DecoderConfig = {
    family: 'opt',
    vocab_size: betaVocab,
    n_positions: 48,
    n_embd: 32,
    n_layer: 2,
    n_head: 2,
    layer_norm_epsilon: 1e-5,
    ffn_dim: 64,
    activation: 'relu',
    position_kind: 'learned',
    position_offset: 2,
  };
  const betaModel = createLanguageModel(opt, initGpt2Parameters(opt, createRng(7, 'beta')));
  await saveLanguageModel(beta, betaModel, { withOptimizer: false });
  betaModel.dispose();
  await writeJson(join(beta, 'tokenizer.json'), betaJson);
  await writeJson(join(beta, 'tokenizer_config.json'), OPT_CONFIG);

  const piJson = bpeTokenizerJson(trainBpe(texts(), 300));
  const piVocab = HfTokenizer.fromJson(piJson).vocabSize;
  const gpt2 = { ...presetConfig('tiny', piVocab), n_positions: 48 };
  const piModel = createLanguageModel(gpt2, initGpt2Parameters(gpt2, createRng(7, 'pi')));
  await saveLanguageModel(pi, piModel, { withOptimizer: false });
  piModel.dispose();
  await writeJson(join(pi, 'tokenizer.json'), piJson);
  await writeJson(join(pi, 'tokenizer_config.json'), bpeTokenizerConfigJson());
  return { beta, pi };
}

/**
 * A sweep on the two (YAML): β the OPT checkpoint, π the GPT-2 one (paths as the spec gives them),
 * two dropouts, one epoch.
 */
export const tokenizerSweep = (beta = 'beta', pi = 'pi', name = 'tokenizers') => `
name: ${name}
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
behavior:
  model: { checkpoint: '${beta}' }
rewardModel:
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 100 }
targets:
  - { name: pi, model: { checkpoint: '${pi}' }, init: pretrained }
dropout: [{ kind: none }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 1, learningRate: 1.0e-2, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 16, samplesPerPrefix: 1, shardSize: 16 }
evaluation: { prefixes: 6, examples: 1, trainingSamples: 8 }
`;
