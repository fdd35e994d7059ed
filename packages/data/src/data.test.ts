import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveDataset } from '@rdlab/core';
import S3rver from 's3rver';
import { parseCsv } from './csv.js';
import { loadDataset } from './dataset.js';
import { demoSplit } from './demo.js';
import { DatasetError } from './errors.js';
import { newsSentence, parseSplitFile } from './formats.js';
import { selectPrefixes } from './selection.js';
import { openSource } from './source.js';

const yelp = (source: string) =>
  resolveDataset({
    name: 'yelp',
    source,
    format: 'yelp-style-transfer',
    attributes: ['negative', 'positive'],
    trainSplit: 'train',
  });

async function yelpDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rdlab-yelp-'));
  await writeFile(join(dir, 'sentiment.train.0'), 'the food was cold .\nnever again .\n');
  await writeFile(join(dir, 'sentiment.train.1'), 'great staff !\nlovely place .\nbest pizza .\n');
  await writeFile(join(dir, 'sentiment.dev.0'), 'rude waiter .\n');
  await writeFile(join(dir, 'sentiment.dev.1'), 'so good .\n');
  return dir;
}

describe('CSV', () => {
  it('parses quoted fields with commas, quotes and line breaks, and names the line', () => {
    const rows = parseCsv('"3","a, b","say ""hi""\nthere"\r\n1,plain,x\n');
    assert.deepEqual(rows[0]?.fields, ['3', 'a, b', 'say "hi"\nthere']);
    assert.equal(rows[1]?.line, 3);
    assert.throws(() => parseCsv('"1","open'), /unterminated quoted field starting on line 1/);
  });
});

describe('readers', () => {
  it('reads Yelp style-transfer files, labels from the file suffix', async () => {
    const data = await loadDataset(yelp(await yelpDir()));
    assert.deepEqual(data.classes, ['negative', 'positive']);
    assert.deepEqual(
      data.train.get('positive')?.map((r) => r.text),
      ['great staff !', 'lovely place .', 'best pizza .'],
    );
    assert.equal(data.eval.get('negative')?.[0]?.origin, 'sentiment.dev.0:1');
  });

  it('reads AG News CSV, with the text field the spec picks', () => {
    const csv =
      '"3","Wall St. Bears Claw Back (Reuters)","Reuters - Short-sellers are seeing green again. More text follows."\n"2","Goal!","AP - The team won 3-1."\n';
    const sentences = parseSplitFile('agnews-csv', 'train.csv', csv);
    assert.deepEqual(
      sentences.map((r) => [r.label, r.text]),
      [
        ['3', 'Short-sellers are seeing green again.'],
        ['2', 'The team won 3-1.'],
      ],
    );
    assert.equal(
      parseSplitFile('agnews-csv', 'train.csv', csv, 'title')[0]?.text,
      'Wall St. Bears Claw Back',
    );
    assert.equal(
      newsSentence('Reuters - A \\band of quot;ultra-cynicsquot; &amp; more'),
      'A band of "ultra-cynics" & more',
    );
  });

  it('reads Yelp polarity CSV and JSONL', () => {
    assert.deepEqual(
      parseSplitFile('yelp-polarity-csv', 'test.csv', '"1","bad food"\n"2","good, really"\n').map(
        (r) => r.label,
      ),
      ['1', '2'],
    );
    const jsonl = parseSplitFile(
      'jsonl',
      'train.jsonl',
      '{"text":"hello","label":"toxic"}\n\n{"text":"bye","label":0}\n',
    );
    assert.deepEqual(
      jsonl.map((r) => [r.text, r.label]),
      [
        ['hello', 'toxic'],
        ['bye', '0'],
      ],
    );
  });

  it('names the file and line of a malformed row', () => {
    assert.throws(
      () => parseSplitFile('agnews-csv', 'train.csv', '"1","t","d"\n"x","only two"\n'),
      (e: DatasetError) =>
        e.code === 'RDLAB_DATA_MALFORMED' && /train\.csv:2: expected 3 columns/.test(e.message),
    );
    assert.throws(
      () => parseSplitFile('jsonl', 'a.jsonl', '{"text":"x","label":1}\n{not json}\n'),
      /a\.jsonl:2: not JSON/,
    );
    assert.throws(
      () => parseSplitFile('jsonl', 'a.jsonl', '{"text":3,"label":1}\n'),
      /a\.jsonl:1: expected \{"text": string/,
    );
  });

  it('refuses a missing file and a split without the attribute, naming them', async () => {
    await assert.rejects(
      loadDataset(yelp('/no/such/dir')),
      (e: DatasetError) =>
        e.code === 'RDLAB_DATA_UNREADABLE' && /no such file or directory/.test(e.message),
    );
    const dir = await yelpDir();
    await writeFile(join(dir, 'sentiment.dev.1'), '\n\n');
    await assert.rejects(
      loadDataset(yelp(dir)),
      (e: DatasetError) =>
        e.code === 'RDLAB_DATA_EMPTY' &&
        /split 'dev': no sentences with label '1' \(attribute 'positive'\)/.test(e.message),
    );
  });

  it('generates the built-in demo corpus deterministically', () => {
    const a = demoSplit('train');
    assert.equal(a.length, 12000);
    assert.deepEqual(demoSplit('train').slice(0, 50), a.slice(0, 50));
    assert.notDeepEqual(demoSplit('dev').slice(0, 5), a.slice(0, 5));
  });
});

describe('sources', () => {
  it('reads file:// URLs like paths, resolving relative paths against the spec folder', async () => {
    const dir = await yelpDir();
    const viaUrl = await loadDataset(yelp(pathToFileURL(dir).href));
    assert.equal(viaUrl.train.get('negative')?.length, 2);
    const relative = await loadDataset(yelp('./data'), { baseDir: join(dir, '..', 'nope') }).catch(
      (e: Error) => e,
    );
    assert.ok(relative instanceof DatasetError);
  });

  describe('https:// and http://', () => {
    let server: ReturnType<typeof createServer>;
    let base: string;
    let requests = 0;
    before(async () => {
      const files: Record<string, string> = {
        '/yelp/sentiment.train.0': 'bad .\n',
        '/yelp/sentiment.train.1': 'good .\n',
        '/yelp/sentiment.dev.0': 'meh bad .\n',
        '/yelp/sentiment.dev.1': 'fine .\n',
      };
      server = createServer((req, res) => {
        requests += 1;
        const body = files[req.url ?? ''];
        res.writeHead(body === undefined ? 404 : 200).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it('downloads once into the cache and checks the recorded checksum', async () => {
      const cacheDir = await mkdtemp(join(tmpdir(), 'rdlab-cache-'));
      const first = await loadDataset(yelp(`${base}/yelp/`), { cacheDir });
      assert.equal(first.train.get('positive')?.[0]?.text, 'good .');
      const after1 = requests;
      await loadDataset(yelp(`${base}/yelp/`), { cacheDir });
      assert.equal(requests, after1, 'the second read came from the cache');
    });

    it('refuses a download whose SHA-256 differs from the URL fragment, and a 404', async () => {
      const cacheDir = await mkdtemp(join(tmpdir(), 'rdlab-cache-'));
      const good = createHash('sha256').update('bad .\n').digest('hex');
      const ok = await openSource(`${base}/yelp/sentiment.train.0#sha256=${good}`, { cacheDir });
      assert.equal(await ok.read(''), 'bad .\n');
      const bad = await openSource(`${base}/yelp/sentiment.train.0#sha256=${'0'.repeat(64)}`, {
        cacheDir,
      });
      await assert.rejects(bad.read(''), (e: DatasetError) => e.code === 'RDLAB_DATA_CHECKSUM');
      const missing = await openSource(`${base}/yelp/`, { cacheDir });
      await assert.rejects(missing.read('nope.txt'), /HTTP 404/);
    });
  });

  describe('s3://', () => {
    let s3rver: S3rver;
    let client: S3Client;
    before(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rdlab-s3-'));
      await mkdir(dir, { recursive: true });
      s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
      const { port } = (await s3rver.run()) as AddressInfo;
      client = new S3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'data' }));
      for (const [key, body] of [
        ['yelp/sentiment.train.0', 'bad .\n'],
        ['yelp/sentiment.train.1', 'good .\n'],
        ['yelp/sentiment.dev.0', 'worse .\n'],
        ['yelp/sentiment.dev.1', 'better .\n'],
      ]) {
        await client.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
      }
    });
    after(async () => {
      client.destroy();
      await s3rver.close();
    });

    it('reads split files from a bucket prefix', async () => {
      const data = await loadDataset(yelp('s3://data/yelp/'), {
        s3: client,
        cacheDir: await mkdtemp(join(tmpdir(), 'rdlab-cache-')),
      });
      assert.equal(data.eval.get('positive')?.[0]?.text, 'better .');
    });

    it('names the missing object', async () => {
      const source = await openSource('s3://data/yelp/', {
        s3: client,
        cacheDir: await mkdtemp(join(tmpdir(), 'rdlab-cache-')),
      });
      await assert.rejects(
        source.read('sentiment.test.0'),
        /s3:\/\/data\/yelp\/sentiment\.test\.0: no such object/,
      );
    });
  });
});

describe('prefix selection', () => {
  const records = Array.from({ length: 40 }, (_, i) => ({
    text: `w${i} `.repeat(3 + (i % 8)).trim(),
    label: '0',
    origin: `f:${i}`,
  }));
  const encode = (t: string) => t.split(' ').map((w) => Number(w.slice(1)));

  it('drops sentences over the max length, is seeded, and grows stably', () => {
    const a = selectPrefixes(records, encode, {
      count: 10,
      prefixLength: 2,
      maxLength: 6,
      seed: 1,
      label: 'x',
    });
    assert.ok(a.prefixes.every((p) => p.sentenceIds.length <= 6 && p.ids.length === 2));
    assert.equal(a.counts.fitting, 10);
    const b = selectPrefixes(records, encode, {
      count: 12,
      prefixLength: 2,
      maxLength: 6,
      seed: 1,
      label: 'x',
    });
    assert.deepEqual(b.prefixes.slice(0, 10), a.prefixes, 'asking for more keeps the first ones');
    const c = selectPrefixes(records, encode, {
      count: 10,
      prefixLength: 2,
      maxLength: 6,
      seed: 2,
      label: 'x',
    });
    assert.notDeepEqual(c.prefixes, a.prefixes);
  });

  it('never selects an excluded sentence (held-out prefixes stay disjoint)', () => {
    const train = selectPrefixes(records, encode, {
      count: 15,
      prefixLength: 2,
      maxLength: 20,
      seed: 1,
      label: 'train',
    });
    const exclude = new Set(train.prefixes.map((p) => p.text));
    const held = selectPrefixes(records, encode, {
      count: 40,
      prefixLength: 2,
      maxLength: 20,
      seed: 1,
      label: 'eval',
      exclude,
    });
    assert.equal(held.prefixes.length, 25);
    assert.ok(held.prefixes.every((p) => !exclude.has(p.text)));
  });
});
