/**
 * The README's examples, type-checked and run on the active engine (native where built, else
 * wasm): the BERT reward model and the Hugging Face checkpoint reader on the `../shared/fixtures`
 * tiny-bert and tiny-opt, served from an S3-compatible server (s3rver on loopback), and the API
 * example on a tiny GPT. apps/cli/test/readmes.test.ts keeps the blocks and these regions equal.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRng } from '@rdlab/core';
import S3rver from 's3rver';
import {
  bpeTokenizerJson,
  encodeSafetensors,
  fineTuneClassifier,
  generate,
  HfTokenizer,
  initBackend,
  type LabelledSequence,
  loadBertClassifier,
  loadHfTokenizer,
  openCheckpoint,
  padBatch,
  presetConfig,
  randomLanguageModel,
  readSafetensors,
  resolveCheckpoint,
  saveBertClassifier,
  trainBpe,
  wordPieceTokenizerJson,
} from './index.js';
import { sharedPath, skipWithout } from './test-support.js';

const bertFixture = sharedPath('fixtures', 'tiny-bert');
const optFixture = sharedPath('fixtures', 'tiny-opt');

// tiny-bert's 96 ids as a WordPiece vocabulary: the specials, a few words, fillers.
const WORDS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'food', 'was', 'great'];
WORDS.push('cold', 'service', 'good', 'bad', 'slow', '.', '!', '##s');
while (WORDS.length < 96) WORDS.push(`w${WORDS.length}`);
const VOCAB_JSON = wordPieceTokenizerJson(`${WORDS.join('\n')}\n`);
const TEXTS: Array<[string, number]> = [
  ['the food was great .', 1],
  ['the service was good !', 1],
  ['the food was cold .', 0],
  ['the service was slow and bad .', 0],
];

describe('README examples', { timeout: 120_000 }, () => {
  const cwd = process.cwd();
  let root: string;
  let s3: S3rver;
  let client: S3Client;

  /** Puts files under s3://models/<prefix>/. */
  async function put(prefix: string, files: Record<string, Uint8Array | string>) {
    for (const [name, body] of Object.entries(files))
      await client.send(
        new PutObjectCommand({ Bucket: 'models', Key: `${prefix}/${name}`, Body: body }),
      );
  }

  before(async () => {
    await initBackend();
    root = await mkdtemp(join(tmpdir(), 'rdlab-ml-readme-'));
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3') });
    const endpoint = `http://127.0.0.1:${((await s3.run()) as AddressInfo).port}`;
    // resolveCheckpoint's default S3 client and cache folder come from these.
    Object.assign(process.env, {
      RDLAB_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      RDLAB_CACHE_DIR: join(root, 'cache'),
    });
    client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'models' }));
    process.chdir(root); // the examples' relative paths land here
  });

  after(async () => {
    process.chdir(cwd);
    client?.destroy();
    await s3?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('loads a pretraining BERT from S3, fine-tunes, saves and scores (Reward model: BERT)', {
    skip: skipWithout(bertFixture, 'fixtures/tiny-bert'),
  }, async () => {
    // A pretraining file: tiny-bert without its head, with a WordPiece tokenizer.json.
    const dir = bertFixture as string;
    const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
    for (const name of [...tensors.keys()])
      if (name.startsWith('classifier.')) tensors.delete(name);
    await put('bert-base-uncased', {
      'config.json': await readFile(join(dir, 'config.json')),
      'model.safetensors': encodeSafetensors(tensors),
      'tokenizer.json': JSON.stringify(VOCAB_JSON),
    });
    const local = HfTokenizer.fromJson(VOCAB_JSON);
    const examples: LabelledSequence[] = TEXTS.map(([text, label]) => ({
      ids: local.encode(text),
      label,
    }));
    const { lengths, ...batch } = padBatch(
      examples.map((e) => e.ids),
      0,
      16,
      false,
    );

    // --- README example starts
    const { classifier, checkpoint } = await loadBertClassifier('s3://models/bert-base-uncased/');
    checkpoint.initialised; // ['classifier.weight', 'classifier.bias']: a pretraining file has no head
    const tokenizer = await loadHfTokenizer(checkpoint.dir); // tokenizer.json (a local folder may have only vocab.txt)
    const { epochLosses } = fineTuneClassifier(classifier, examples, { epochs: 2, batchSize: 32 });
    await saveBertClassifier('models/r-yelp', classifier); // config.json + model.safetensors
    const scorer = (await loadBertClassifier('models/r-yelp', { frozen: true })).classifier;
    scorer.logits(batch, lengths); // [B, num_labels]: raw logits (r), softmax for the reported Reward
    // --- README example ends

    assert.deepEqual([...checkpoint.initialised].sort(), ['classifier.bias', 'classifier.weight']);
    assert.ok(checkpoint.dir.startsWith(join(root, 'cache')), checkpoint.dir);
    assert.deepEqual(tokenizer.encode(TEXTS[0]?.[0] ?? ''), examples[0]?.ids);
    assert.equal(epochLosses.length, 2);
    assert.ok(
      epochLosses.every((l) => Number.isFinite(l) && l > 0),
      String(epochLosses),
    );
    assert.ok(existsSync(join(root, 'models/r-yelp/config.json')));
    assert.ok(existsSync(join(root, 'models/r-yelp/model.safetensors')));
    // The reloaded, frozen scorer gives the fine-tuned classifier's logits.
    const scored = scorer.logits(batch, lengths);
    const trained = classifier.logits(batch, lengths);
    assert.equal(scored.length, TEXTS.length * 2);
    scored.forEach((v, i) => {
      assert.ok(Math.abs(v - (trained[i] as number)) < 1e-5, `logit ${i}: ${v} vs ${trained[i]}`);
    });
    assert.throws(() =>
      scorer.trainStep(
        batch,
        lengths,
        Int32Array.of(1, 1, 0, 0),
        { learningRate: 1e-3 },
        createRng(1),
      ),
    );
    classifier.dispose();
    scorer.dispose();
  });

  it('samples from a random tiny GPT (API)', async () => {
    // --- README example starts
    await initBackend();
    const tokenizer = trainBpe(['the food was great .', 'the food was cold .'], 300);
    const beta = randomLanguageModel(presetConfig('tiny', tokenizer.vocabSize), 1);
    const gen = generate(beta, Int32Array.from(tokenizer.encode('the food was').slice(0, 3)), 1, {
      maxLength: 12,
      temperature: 1,
      eosId: tokenizer.eosId,
      rng: createRng(1),
    });
    // gen.ids, gen.mask (continuation), gen.tokenLogprobs (log β per generated token)
    beta.dispose();
    // --- README example ends

    const prefix = tokenizer.encode('the food was').slice(0, 3);
    assert.equal(prefix.length, 3);
    assert.deepEqual([...gen.ids.slice(0, 3)], prefix);
    assert.equal(gen.ids.length, gen.mask.length);
    assert.ok(gen.ids.length <= 12);
    const generated = [...gen.mask].filter((m) => m === 1).length;
    assert.ok(generated >= 1 && generated <= 12 - 3, `${generated} generated tokens`);
    gen.mask.forEach((m, t) => {
      const lp = gen.tokenLogprobs[t] as number;
      if (m === 1) assert.ok(Number.isFinite(lp) && lp <= 0, `log β ${lp} at ${t}`);
      else assert.equal(lp, 0);
    });
  });

  it('resolves an OPT checkpoint from S3, tokenizes and streams its tensors (Hugging Face)', {
    skip: skipWithout(optFixture, 'fixtures/tiny-opt'),
  }, async () => {
    const fixture = optFixture as string;
    await put('opt-1.3b', {
      'config.json': await readFile(join(fixture, 'config.json')),
      'model.safetensors': await readFile(join(fixture, 'model.safetensors')),
      'tokenizer.json': JSON.stringify(
        bpeTokenizerJson(trainBpe(['Hello world', 'Hello there'], 300)),
      ),
    });
    const uploaded: Array<{ name: string; shape: number[]; size: number }> = [];
    const upload = (name: string, shape: number[], data: Float32Array | Uint16Array) =>
      uploaded.push({ name, shape, size: data.length });

    // --- README example starts
    const dir = await resolveCheckpoint('s3://models/opt-1.3b/'); // or a folder, or https://…/
    const tokenizer = await loadHfTokenizer(dir); // tokenizer.json (+ tokenizer_config.json)
    tokenizer.encode('Hello'); // OPT: [2, 31414] (`</s>` first, from its post-processor)
    tokenizer.identity; // SHA-256 of the tokenizer files: record it with what it tokenized
    const checkpoint = await openCheckpoint(dir); // model.safetensors, or the index + shards
    for await (const t of checkpoint.entries()) upload(t.name, t.shape, t.data); // one at a time
    await checkpoint.close();
    // --- README example ends

    assert.ok(dir.startsWith(join(root, 'cache')), dir);
    const ids = tokenizer.encode('Hello');
    assert.ok(ids.length > 0 && ids.every((id) => Number.isInteger(id) && id >= 0));
    assert.equal(tokenizer.decode(ids), 'Hello');
    assert.match(tokenizer.identity, /^[0-9a-f]{64}$/);
    const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
    assert.deepEqual(uploaded.map((u) => u.name).sort(), [...tensors.keys()].sort());
    for (const u of uploaded) {
      assert.deepEqual(u.shape, tensors.get(u.name)?.shape);
      assert.equal(
        u.size,
        u.shape.reduce((a, b) => a * b, 1),
        u.name,
      );
    }
  });
});
