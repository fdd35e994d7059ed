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
