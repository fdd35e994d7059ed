/**
 * β and π with different tokenizers on the embedded stack (API, scheduler, worker processes,
 * real Postgres, Redis and artifact directory): a tiny OPT β with its own tokenizer.json and a
 * tiny GPT-2 π with another (`@rdlab/pipeline/test-checkpoints`), posted over HTTP, finish with
 * results equal to `runSweep`'s in one process.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { initBackend } from '@rdlab/ml';
import {
  type CellResult,
  MemoryMetrics,
  newCounters,
  runSweep,
  silentProgress,
} from '@rdlab/pipeline';
import { tokenizerSweep, writeTinyCheckpoints } from '@rdlab/pipeline/test-checkpoints';
import { LocalDirectoryStore } from '@rdlab/store';
import { parse } from 'yaml';
import { ApiClient } from '../src/stack/client.js';
import { type Stack, startStack } from '../src/stack/stack.js';

describe('β and π with their own tokenizers on the embedded stack', { timeout: 300_000 }, () => {
  let root: string;
  let stack: Stack;
  let text: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rdlab-tokenizers-stack-'));
    await chmod(root, 0o755);
    const { beta, pi } = await writeTinyCheckpoints(root);
    text = tokenizerSweep(beta, pi, 'tokenizers-stack');
    stack = await startStack({ dataDir: join(root, 'stack'), port: 0, workers: 1, baseDir: root });
  });

  after(async () => {
    await stack?.stop();
  });

  it('runs the sweep over HTTP to the numbers of one process', async () => {
    const client = new ApiClient(stack.apiUrl, stack.token);
    const { id, cells } = await client.submit(parse(text));
    assert.equal(cells.length, 2);
    const view = await client.wait(id as string, undefined, 250);
    assert.equal(view.status, 'succeeded', String(view.error));
    const { results } = (await client.results(id as string, 'json')) as { results: CellResult[] };
    assert.equal(results.length, 2);

    await initBackend();
    const { spec, cells: expanded } = parseSweepSpec(text);
    const local = await runSweep(
      {
        store: new LocalDirectoryStore(join(root, 'local')),
        metrics: new MemoryMetrics(),
        progress: silentProgress,
        baseDir: root,
        workDir: join(root, 'local-tmp'),
        counters: newCounters(),
      },
      spec,
      expanded,
    );
    const numbers = (rs: CellResult[]) =>
      rs
        .map((r) => [r.cell.id, r.start.acc, r.final.acc, r.final.reward, r.final.tokenAccuracy])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(numbers(results), numbers(local.results));
  });
});
