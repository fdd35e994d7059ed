import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSpec } from '@rdlab/core';
import { parse } from 'yaml';
import {
  lineFromMessage,
  locatePointer,
  locateProblems,
  pointerTokens,
  syntaxErrors,
} from '../src/yaml-lines.js';

const SPEC = `# a comment first
name: web
datasets:
  - name: demo
    source: builtin:demo
    attributes: [positive, negative]
dropout:
  - kind: none
  - { kind: quantile, gamma: 0.5 }
  - kind: random
    gamma: 1.5
training:
  batchSize: 0
  epochs: 2
"a/b": 1
`;

const lineOf = (text: string, needle: string) =>
  text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('JSON pointer → YAML line', () => {
  it('unescapes pointer tokens (RFC 6901)', () => {
    assert.deepEqual(pointerTokens(''), []);
    assert.deepEqual(pointerTokens('/training/batchSize'), ['training', 'batchSize']);
    assert.deepEqual(pointerTokens('/a~1b/c~0d'), ['a/b', 'c~d']);
  });

  it('finds a key of a nested map on its own line', () => {
    assert.deepEqual(locatePointer(SPEC, '/training/batchSize'), {
      line: 13,
      column: 3,
      exact: true,
    });
    assert.equal(locatePointer(SPEC, '/training').line, 12);
  });

  it('walks sequences by index: block items, flow maps inside them, flow sequences', () => {
    assert.equal(locatePointer(SPEC, '/dropout/2/gamma').line, 11);
    assert.equal(locatePointer(SPEC, '/dropout/2').line, 10);
    assert.equal(locatePointer(SPEC, '/dropout/1/gamma').line, 9);
    assert.equal(locatePointer(SPEC, '/datasets/0/attributes/1').line, 6);
    assert.equal(locatePointer(SPEC, '/a~1b').line, 15);
  });

  it('points at the deepest existing parent for a path that is not in the text', () => {
    assert.deepEqual(locatePointer(SPEC, '/training/learningRate'), {
      line: 12,
      column: 1,
      exact: false,
    });
    assert.deepEqual(locatePointer(SPEC, '/dropout/7/gamma'), { line: 7, column: 1, exact: false });
    assert.equal(locatePointer(SPEC, '/name/first').exact, false);
  });

  it('puts the root (and a missing top-level key) on the first line of content', () => {
    assert.equal(locatePointer(SPEC, '').line, 2);
    assert.deepEqual(locatePointer(SPEC, '/behavior'), { line: 2, column: 1, exact: false });
  });

  it('reads JSON as well', () => {
    const json = '{\n  "name": "x",\n  "training": {\n    "batchSize": 0\n  }\n}\n';
    assert.equal(locatePointer(json, '/training/batchSize').line, 4);
  });

  it("puts every problem rdlab's own validator reports on the line of its key", () => {
    const result = validateSpec(parse(SPEC));
    assert.equal(result.ok, false);
    const problems = result.ok ? [] : result.problems;
    const located = locateProblems(SPEC, problems);
    assert.equal(located.length, problems.length);
    const at = (path: string) => located.find((p) => p.path === path);
    assert.equal(at('/dropout/2/gamma')?.line, lineOf(SPEC, 'gamma: 1.5'));
    assert.equal(at('/training/batchSize')?.line, lineOf(SPEC, 'batchSize: 0'));
    // Ordered by line.
    assert.deepEqual(
      located.map((p) => p.line),
      [...located.map((p) => p.line)].sort((a, b) => a - b),
    );
  });

  it('gives syntax errors with their lines, and reads the line out of the API message', () => {
    const broken = 'name: x\ndropout:\n  - kind: none\n kind: quantile\n';
    const errors = syntaxErrors(broken);
    assert.ok(errors.length > 0);
    assert.equal(errors[0]?.line, 4);
    assert.equal(
      lineFromMessage(
        'malformed YAML body: YAML/JSON syntax error at line 4, column 1: Sequence item without - indicator',
      ),
      4,
    );
    assert.equal(lineFromMessage('no line here'), null);
  });
});
