import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');

const SPEC = `
name: cli-tiny
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 150 }
rewardModel:
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 150 }
dropout: [{ kind: none }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 1, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 16, samplesPerPrefix: 2, shardSize: 8 }
evaluation: { prefixes: 8, examples: 2 }
`;

describe('rdlab run --local', () => {
  it('runs a sweep and writes results, CSV, report and examples; a second run trains nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cli-run-'));
    writeFileSync(join(dir, 'spec.yaml'), SPEC);
    const args = [
      bin,
      'run',
      join(dir, 'spec.yaml'),
      '--local',
      '--out',
      join(dir, 'out'),
      '--store',
      join(dir, 'store'),
    ];
    const first = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: dir });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /\| target \| dropout \| demo\/positive \|/);
    assert.match(first.stdout, /2 cells in .* sampled 32 sequences/);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as {
      cells: unknown[];
      report: { variants: unknown[] };
    };
    assert.equal(results.cells.length, 2);
    assert.equal(results.report.variants.length, 2);
    assert.equal(
      readFileSync(join(dir, 'out', 'results.csv'), 'utf8')
        .trim()
        .split('\n').length,
      3,
    );
    assert.match(readFileSync(join(dir, 'out', 'report.html'), 'utf8'), /<h2>Acc \+ Reward/);
    assert.equal(
      readFileSync(join(dir, 'out', 'examples.jsonl'), 'utf8')
        .trim()
        .split('\n').length,
      4,
    );
    assert.ok(
      readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').includes(
        '"name":"dropout/kept_fraction"',
      ),
    );
    const second = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: dir });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /sampled 0 sequences, 0 update steps, 0 models trained/);
  });

  it('keeps its artifacts in an S3 bucket with --store s3://bucket/prefix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cli-s3-'));
    writeFileSync(join(dir, 'spec.yaml'), SPEC);
    const server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: join(dir, 's3'),
    });
    const { port } = (await server.run()) as { port: number };
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'rdlab' }));
      const env = {
        ...process.env,
        RDLAB_S3_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
      };
      // spawnSync would block the event loop the in-process S3 server needs: run the CLI asynchronously.
      const { spawn } = await import('node:child_process');
      const code = await new Promise<number | null>((done) => {
        const child = spawn(
          process.execPath,
          [
            bin,
            'run',
            join(dir, 'spec.yaml'),
            '--local',
            '--out',
            join(dir, 'out'),
            '--store',
            's3://rdlab/team/a',
          ],
          { cwd: dir, env, stdio: 'ignore' },
        );
        child.on('exit', done);
      });
      assert.equal(code, 0);
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: 'rdlab', Prefix: 'team/a/' }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
      assert.ok(
        keys.some((k) => /^team\/a\/shards\/[0-9a-f]+\.arrow$/.test(k)),
        keys.join(', '),
      );
      assert.ok(keys.some((k) => /^team\/a\/cells\/c[0-9a-f]+\/result\.json$/.test(k)));
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
