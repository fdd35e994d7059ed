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

  it('shows the example that test/example.test.ts type-checks and runs', async () => {
    const [readme, example] = await Promise.all([
      read('../README.md'),
      read('../test/example.test.ts'),
    ]);
    // The example sits indented inside the test; the README has it flush left.
    const start = /^( *)\/\/ --- README example starts\n/m.exec(example);
    const end = example.indexOf('// --- README example ends');
    assert.ok(start && end > start.index, 'markers missing in test/example.test.ts');
    const indent = new RegExp(`^${start[1]}`, 'gm');
    const body = example.slice(start.index + start[0].length, example.lastIndexOf('\n', end) + 1);
    const block = body.replace(indent, '');
    assert.ok(block.length > 100 && readme.includes(block), 'README example differs from the test');
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
