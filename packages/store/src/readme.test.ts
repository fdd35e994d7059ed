import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { STORE_ERROR_CODES } from './errors.js';
import { S3_STORE_DEFAULTS } from './s3-client.js';

const readme = () => readFile(new URL('../README.md', import.meta.url), 'utf8');

it('documents every error code and every RDLAB_S3_* variable with its default', async () => {
  const text = await readme();
  for (const code of STORE_ERROR_CODES)
    assert.ok(text.includes(code), `${code} is not in README.md`);
  const source = await readFile(new URL('./s3-client.ts', import.meta.url), 'utf8');
  const variables = [...source.matchAll(/\b(RDLAB_S3_[A-Z_]+)\b/g)].map((m) => m[1] as string);
  assert.ok(variables.length >= 8);
  for (const name of new Set(variables))
    assert.ok(text.includes(name), `${name} is not in README.md`);
  for (const value of Object.values(S3_STORE_DEFAULTS))
    if (typeof value === 'number')
      assert.ok(text.includes(String(value)), `default ${value} missing`);
});
