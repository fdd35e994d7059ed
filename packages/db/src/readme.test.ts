import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { DB_ERROR_CODES, DbError } from './index.js';

const read = (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code', async () => {
    const readme = await read('../README.md');
    for (const code of DB_ERROR_CODES)
      assert.ok(readme.includes(`\`${code}\``), `${code} is not in README.md`);
  });
});

describe('DbError', () => {
  it('carries its code and cause', () => {
    const cause = new Error('root');
    const error = new DbError('RDLAB_DB_NOT_FOUND', 'no such thing', { cause });
    assert.equal(error.code, 'RDLAB_DB_NOT_FOUND');
    assert.equal(error.cause, cause);
    assert.equal(error.name, 'DbError');
  });
});
