import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { TELEMETRY_ERROR_CODES } from './index.js';

const read = (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

it('documents every error code in the README', async () => {
  const readme = await read('../README.md');
  for (const code of TELEMETRY_ERROR_CODES) {
    assert.ok(readme.includes(code), `${code} is not in README.md`);
  }
});

it('shows the example that src/example.test.ts type-checks and runs', async () => {
  const [readme, example] = await Promise.all([read('../README.md'), read('./example.test.ts')]);
  const start = '  // --- README example starts\n';
  const body = example.slice(
    example.indexOf(start) + start.length,
    example.indexOf('  // --- README example ends'),
  );
  const block = body.replace(/^ {2}/gm, '');
  assert.ok(block.length > 100 && readme.includes(block), 'README example differs from the test');
});
