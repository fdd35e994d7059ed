import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSweepSpec } from './validate.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

describe('examples/*.yaml', () => {
  it('keep their cell ids: new spec fields and presets change no existing cell', async () => {
    // Ids recorded before model references, family presets and limits.workerMemoryGiB were added
    // (figure3.yaml and table1.yaml changed on purpose then: they now name the paper's models).
    const expected = JSON.parse(
      await readFile(new URL('./example-cells.json', import.meta.url), 'utf8'),
    ) as Record<string, string[]>;
    for (const [file, ids] of Object.entries(expected)) {
      const { cells } = parseSweepSpec(await readFile(`${root}examples/${file}`, 'utf8'));
      assert.deepEqual(
        cells.map((c) => c.id),
        ids,
        file,
      );
    }
  });
});
