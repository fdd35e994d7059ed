import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSweepSpec } from '@rdlab/core';
import { serveFolder } from './checkpoint/folder-server.js';
import {
  BAD_BERT_REFERENCES,
  BAD_REFERENCES,
  writeBertReferenceFixture,
  writeReferenceFixture,
} from './checkpoint/reference-fixtures.js';
import { checkDecoderReference, checkSpecReferences } from './references.js';

const root = await mkdtemp(join(tmpdir(), 'rdlab-references-'));
after(() => rm(root, { recursive: true, force: true }));

function spec(behavior: string, target?: string) {
  return parseSweepSpec(
    JSON.stringify({
      datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
      behavior: { model: { checkpoint: behavior } },
      targets: [target ? { model: { checkpoint: target }, init: 'pretrained' } : {}],
      dropout: [{ kind: 'none' }],
    }),
  ).spec;
}

describe('checkSpecReferences', () => {
  it('passes a good tiny OPT and names nothing', async () => {
    const good = await writeReferenceFixture(join(root, 'good'), 'good');
    const check = await checkDecoderReference(good);
    assert.deepEqual(check.problems, []);
    assert.equal(check.config?.family, 'opt');
    assert.deepEqual((await checkSpecReferences(spec(good, good))).problems, []);
  });

  const expected: Record<(typeof BAD_REFERENCES)[number], RegExp> = {
    'bad-model-type': /'model_type' "llama" is not supported/,
    'missing-weights': /neither model\.safetensors nor model\.safetensors\.index\.json/,
    'wrong-shape':
      /tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[8, 8\]; config\.json implies \[16, 8\]/,
    'tokenizer-too-big': /100 tokens, more than config\.json's vocab_size 64/,
  };
  for (const kind of BAD_REFERENCES) {
    it(`names the field of a reference with ${kind}`, async () => {
      const good = await writeReferenceFixture(join(root, `good-${kind}`), 'good');
      const bad = await writeReferenceFixture(join(root, kind), kind);
      const asBehavior = await checkSpecReferences(spec(bad));
      assert.equal(asBehavior.problems[0]?.path, '/behavior/model/checkpoint');
      assert.match(asBehavior.problems[0]?.message ?? '', expected[kind]);
      const asTarget = await checkSpecReferences(spec(good, bad));
      assert.equal(asTarget.problems[0]?.path, '/targets/0/model/checkpoint');
    });
  }

  it('reads relative references against baseDir', async () => {
    await writeReferenceFixture(join(root, 'rel'), 'good');
    assert.deepEqual((await checkSpecReferences(spec('rel'), { baseDir: root })).problems, []);
    const missing = await checkSpecReferences(spec('nowhere'), { baseDir: root });
    assert.match(missing.problems[0]?.message ?? '', /no such folder/);
  });

  it('checks https references by GET and Range requests (a loopback server)', async () => {
    const served = join(root, 'served');
    await writeReferenceFixture(join(served, 'good'), 'good');
    await writeReferenceFixture(join(served, 'wrong-shape'), 'wrong-shape');
    const server = await serveFolder(served);
    const base = server.url;
    try {
      assert.deepEqual((await checkSpecReferences(spec(`${base}/good`))).problems, []);
      const ranges = server.requests.filter((r) => r.includes(' '));
      assert.ok(ranges.includes('/good/model.safetensors 0-7'), 'the length by a Range request');
      assert.equal(ranges.length, 2, 'the length, then the header: no weights');
      const bad = await checkSpecReferences(spec(`${base}/good`, `${base}/wrong-shape`));
      assert.equal(bad.problems[0]?.path, '/targets/0/model/checkpoint');
      assert.match(bad.problems[0]?.message ?? '', expected['wrong-shape']);
      const missing = await checkSpecReferences(spec(`${base}/nothing`));
      assert.match(missing.problems[0]?.message ?? '', /config\.json is missing/);
    } finally {
      await server.close();
    }
    // Unreachable: a problem naming the field, or with bestEffort (`rdlab plan`) "not checked".
    const gone = 'http://127.0.0.1:1/model';
    const strict = await checkSpecReferences(spec(gone));
    assert.equal(strict.problems[0]?.path, '/behavior/model/checkpoint');
    assert.match(strict.problems[0]?.message ?? '', /^unreachable: /);
    const lenient = await checkSpecReferences(spec(gone), { bestEffort: true });
    assert.deepEqual(lenient.problems, []);
    assert.match(lenient.unchecked[0]?.reason ?? '', /is unreachable/);
  });

  const rewardSpec = (checkpoint: string, finetune?: false) =>
    parseSweepSpec(
      JSON.stringify({
        datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
        rewardModel: { model: { checkpoint }, ...(finetune === false ? { finetune } : {}) },
        dropout: [{ kind: 'none' }],
      }),
    ).spec;

  it('passes a pretrained-only BERT and one whose head fits the dataset', async () => {
    for (const kind of ['bert-good', 'bert-good-head'] as const) {
      const dir = await writeBertReferenceFixture(join(root, kind), kind);
      assert.deepEqual((await checkSpecReferences(rewardSpec(dir))).problems, [], kind);
    }
  });

  const bertExpected: Record<(typeof BAD_BERT_REFERENCES)[number], RegExp> = {
    'bert-wrong-shape':
      /tensor 'bert\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[8, 8\]; config\.json implies \[16, 8\]/,
    'bert-missing-tensor': /tensor 'bert\.encoder\.layer\.0\.output\.dense\.bias' is missing/,
    'bert-tokenizer-too-big': /20 tokens, more than config\.json's vocab_size 16/,
    'bert-head-labels': /num_labels 3; dataset 'd' has 2 classes/,
  };
  for (const kind of BAD_BERT_REFERENCES) {
    it(`names /rewardModel/model/checkpoint for a BERT with ${kind}`, async () => {
      const dir = await writeBertReferenceFixture(join(root, kind), kind);
      const { problems } = await checkSpecReferences(rewardSpec(dir));
      assert.equal(problems[0]?.path, '/rewardModel/model/checkpoint');
      assert.match(problems[0]?.message ?? '', bertExpected[kind]);
    });
  }

  it('checks a remote BERT reward model like a remote decoder (a loopback server)', async () => {
    const served = join(root, 'served-bert');
    await writeBertReferenceFixture(join(served, 'good'), 'bert-good-head');
    await writeBertReferenceFixture(join(served, 'wrong-shape'), 'bert-wrong-shape');
    const server = await serveFolder(served);
    try {
      assert.deepEqual(await checkSpecReferences(rewardSpec(`${server.url}/good`)), {
        problems: [],
        unchecked: [],
      });
      const bad = await checkSpecReferences(rewardSpec(`${server.url}/wrong-shape`));
      assert.equal(bad.problems[0]?.path, '/rewardModel/model/checkpoint');
      assert.match(bad.problems[0]?.message ?? '', bertExpected['bert-wrong-shape']);
    } finally {
      await server.close();
    }
    const gone = 'http://127.0.0.1:1/bert';
    const strict = await checkSpecReferences(rewardSpec(gone));
    assert.equal(strict.problems[0]?.path, '/rewardModel/model/checkpoint');
    assert.match(strict.problems[0]?.message ?? '', /^unreachable: /);
    const lenient = await checkSpecReferences(rewardSpec(gone), { bestEffort: true });
    assert.deepEqual(lenient.problems, []);
    assert.equal(lenient.unchecked[0]?.path, '/rewardModel/model/checkpoint');
    assert.match(lenient.unchecked[0]?.reason ?? '', /is unreachable/);
  });

  it("refuses 'finetune: false' for a BERT without a head, and a decoder as R", async () => {
    const bare = await writeBertReferenceFixture(join(root, 'bare'), 'bert-good');
    const { problems } = await checkSpecReferences(rewardSpec(bare, false));
    assert.match(problems[0]?.message ?? '', /no classifier head/);
    const opt = await writeReferenceFixture(join(root, 'opt-as-r'), 'good');
    const asR = await checkSpecReferences(rewardSpec(opt));
    assert.match(asR.problems[0]?.message ?? '', /'model_type' "opt" is not supported/);
  });

  it('loads no engine: references.ts reaches neither tfjs nor the tokenizer library nor Arrow', async () => {
    const seen = new Set<string>();
    const queue = [fileURLToPath(new URL('./references.ts', import.meta.url))];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(
        /^\s*(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms,
      )) {
        const spec = m[1] as string;
        assert.doesNotMatch(
          spec,
          /tfjs|@huggingface|apache-arrow|backend|engine/,
          `${file} imports ${spec}`,
        );
        if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else assert.match(spec, /^(node:|@rdlab\/core$)/, `${file} imports ${spec}`);
      }
    }
    assert.ok(seen.size > 3);
  });
});
