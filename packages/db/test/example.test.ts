/** The README example, type-checked and run against an embedded Postgres. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import {
  createDb,
  migrate,
  PostgresMetricsSink,
  Repositories,
  startEmbeddedPostgres,
} from '../src/index.js';

it('runs the README example', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rdlab-example-'));
  await chmod(dir, 0o755);
  try {
    // --- README example starts
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') }); // or DATABASE_URL
    await migrate(pg.url); // idempotent; safe from several processes at once
    const db = createDb(pg.url);
    const repos = new Repositories(db);

    const team = await repos.teams.createTeam('lab');
    const { token } = await repos.tokens.createToken('lab', 'ci'); // shown once
    const principal = await repos.tokens.authenticate(token); // { teamId, tokenId } | null

    const { experiment } = await repos.experiments.createExperiment({
      teamId: team.id,
      ownerTokenId: principal?.tokenId,
      name: 'dropout sweep',
      specSubmitted: { dropout: ['quantile-0.8'] },
      specResolved: { dropout: ['quantile-0.8'], epochs: 3 },
      idempotencyKey: 'post-42', // a retried POST returns the same experiment
      cells: [
        {
          id: 'c3f9a0c1d',
          index: 0,
          dataset: 'imdb',
          attribute: 'sentiment',
          target: 'positive',
          dropout: 'quantile-0.8',
          dropoutConfig: { kind: 'quantile', gamma: 0.8 },
          seed: 1,
        },
      ],
    });

    const sink = new PostgresMetricsSink(db, { experimentId: experiment.id });
    await sink.record([
      { cell: 'c3f9a0c1d', stage: 'train', epoch: 0, step: 1, name: 'train/loss', value: 2.3 },
    ]);
    await sink.close(); // writes what is pending

    await db.$disconnect();
    await pg.stop();
    // --- README example ends
    assert.equal(principal?.teamId, team.id);
    assert.equal(experiment.cellCount, 1);
    assert.equal(sink.written, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
