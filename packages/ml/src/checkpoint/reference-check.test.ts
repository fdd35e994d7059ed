import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkBertReference } from './check-bert-reference.js';
import { checkDecoderReference } from './check-reference.js';
import { checkpointShapes } from './checkpoint-shapes.js';
import { type FolderServer, serveFolder } from './folder-server.js';
import { referenceFiles } from './reference-check.js';
import { localReferenceFiles } from './reference-files.js';
import {
  BAD_BERT_REFERENCES,
  writeBertReferenceFixture,
  writeReferenceFixture,
} from './reference-fixtures.js';
import { writeShardedCheckpoint } from './test-files.js';

const root = await mkdtemp(join(tmpdir(), 'rdlab-reference-check-'));
after(() => rm(root, { recursive: true, force: true }));

/** The header length a safetensors file starts with. */
async function headerLength(path: string): Promise<number> {
  const file = await open(path, 'r');
  try {
    const { buffer } = await file.read(Buffer.alloc(8), 0, 8, 0);
    return Number(buffer.readBigUInt64LE(0));
  } finally {
    await file.close();
  }
}

describe('remote BERT references', () => {
  let server: FolderServer;
  before(async () => {
    server = await serveFolder(root);
  });
  after(() => server.close());

  it('checks a good one by GET and two Range requests for the header, reading no weights', async () => {
    const dir = await writeBertReferenceFixture(join(root, 'bert-good-head'), 'bert-good-head');
    const n = await headerLength(join(dir, 'model.safetensors'));
    server.requests.length = 0;
    const check = await checkBertReference(`${server.url}/bert-good-head`);
    assert.deepEqual(check.problems, []);
    assert.equal(check.unchecked, null);
    assert.equal(check.hasHead, true);
    assert.equal(check.config?.num_labels, 2);
    assert.deepEqual(server.requests, [
      '/bert-good-head/config.json',
      '/bert-good-head/model.safetensors.index.json',
      '/bert-good-head/model.safetensors 0-7',
      `/bert-good-head/model.safetensors 8-${8 + n - 1}`,
      '/bert-good-head/tokenizer.json',
      '/bert-good-head/vocab.json',
      '/bert-good-head/vocab.txt',
    ]);
  });

  it('finds what a local check finds: the tensor that disagrees with its config, and the rest', async () => {
    for (const kind of ['bert-good', ...BAD_BERT_REFERENCES] as const) {
      const dir = await writeBertReferenceFixture(join(root, kind), kind);
      const remote = await checkBertReference(`${server.url}/${kind}`);
      assert.deepEqual(remote, await checkBertReference(dir), kind);
    }
    const { problems } = await checkBertReference(`${server.url}/bert-wrong-shape`);
    assert.deepEqual(problems, [
      "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [8, 8]; config.json implies [16, 8]",
    ]);
  });

  it('names what a remote BERT lacks: config.json, weights, a tokenizer', async () => {
    const dir = await writeBertReferenceFixture(join(root, 'bert-gaps'), 'bert-good');
    await rm(join(dir, 'vocab.txt'));
    await rm(join(dir, 'model.safetensors'));
    const gaps = await checkBertReference(`${server.url}/bert-gaps`);
    assert.match(gaps.problems[0] ?? '', /bert-gaps: has neither model\.safetensors nor/);
    assert.equal(gaps.problems[1], 'has no tokenizer: neither tokenizer.json nor vocab.txt');
    const none = await checkBertReference(`${server.url}/nothing`);
    assert.deepEqual(none.problems, ['config.json is missing (a BERT checkpoint needs one)']);
  });

  it('an unreachable one is a problem, or unchecked in a best-effort check', async () => {
    const gone = 'http://127.0.0.1:1/bert';
    const strict = await checkBertReference(gone);
    assert.match(
      strict.problems[0] ?? '',
      /^unreachable: http:\/\/127\.0\.0\.1:1\/bert\/config\.json/,
    );
    assert.equal(strict.unchecked, null);
    const lenient = await checkBertReference(gone, { bestEffort: true });
    assert.deepEqual(lenient.problems, []);
    assert.match(lenient.unchecked ?? '', /^http:\/\/127\.0\.0\.1:1\/bert is unreachable: /);
  });

  it('treats a remote reference as a BERT even beside a classifier.json (a CNN is a local folder)', async () => {
    const dir = await writeBertReferenceFixture(join(root, 'bert-and-cnn'), 'bert-good');
    await writeFile(join(dir, 'classifier.json'), '{}');
    assert.equal((await checkBertReference(dir)).cnn, true);
    const remote = await checkBertReference(`${server.url}/bert-and-cnn`);
    assert.equal(remote.cnn, false);
    assert.deepEqual(remote.problems, []);
  });
});

describe('checkpointShapes', () => {
  let server: FolderServer;
  before(async () => {
    server = await serveFolder(root);
  });
  after(() => server.close());

  it('lists a sharded checkpoint by its index, the same from a folder and over HTTP', async () => {
    const dir = join(root, 'sharded');
    await mkdir(dir, { recursive: true });
    await writeShardedCheckpoint(dir, {
      'model-00001-of-00002.safetensors': [{ name: 'a', dtype: 'F32', shape: [2, 3] }],
      'model-00002-of-00002.safetensors': [
        { name: 'b', dtype: 'F16', shape: [4] },
        { name: 'c', dtype: 'F32', shape: [1, 1, 2] },
      ],
    });
    const local = await checkpointShapes(localReferenceFiles(dir));
    assert.deepEqual(
      local,
      new Map([
        ['a', [2, 3]],
        ['b', [4]],
        ['c', [1, 1, 2]],
      ]),
    );
    assert.deepEqual(await checkpointShapes(referenceFiles(`${server.url}/sharded`)), local);
  });

  it('refuses an index whose shard is not a file of the folder, before reading it', async () => {
    const dir = join(root, 'escape');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: '../sharded/model-00001-of-00002.safetensors' } }),
    );
    server.requests.length = 0;
    for (const files of [localReferenceFiles(dir), referenceFiles(`${server.url}/escape`)])
      await assert.rejects(checkpointShapes(files), /is not a file name in the folder/);
    assert.deepEqual(server.requests, ['/escape/model.safetensors.index.json']);
  });

  it('names the shard that lacks a tensor its index puts there', async () => {
    const dir = join(root, 'liar');
    await mkdir(dir, { recursive: true });
    const [first, second] = [
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ];
    for (const shard of [first, second])
      await copyFile(join(root, 'sharded', shard), join(dir, shard));
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: first, z: second } }),
    );
    for (const ref of [dir, `${server.url}/liar`])
      await assert.rejects(
        checkpointShapes(referenceFiles(ref)),
        /model-00002-of-00002\.safetensors: tensor 'z': model\.safetensors\.index\.json puts it in this shard/,
      );
  });
});

describe('remote decoder references', () => {
  it('reads the same as local ones through the same files', async () => {
    const server = await serveFolder(root);
    try {
      for (const kind of ['good', 'wrong-shape', 'tokenizer-too-big', 'bad-model-type'] as const) {
        const dir = await writeReferenceFixture(join(root, kind), kind);
        assert.deepEqual(
          await checkDecoderReference(`${server.url}/${kind}`),
          await checkDecoderReference(dir),
          kind,
        );
      }
    } finally {
      await server.close();
    }
  });
});
