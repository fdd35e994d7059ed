/** The README examples, type-checked and run (apps/cli/test/readmes.test.ts keeps them equal). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { formatPlan, manifestKey, planSweep, THROUGHPUTS } from './index.js';

const yamlText = `
datasets:
  - { name: yelp, source: builtin:demo, attributes: [negative, positive] }
dropout: [{ kind: none }, { kind: quantile, gamma: [0.8, 0.9] }]
`;
const printed: string[] = [];
const console = { log: (text: string) => void printed.push(text) };

it('runs the README example of the public API', () => {
  // --- README example starts
  const { spec, cells } = parseSweepSpec(yamlText);
  console.log(formatPlan(planSweep(spec, cells)));
  const key = manifestKey(spec, 'yelp'); // where prepare leaves the manifest of dataset `yelp`
  // --- README example ends
  assert.match(key, /^manifests\//);
  assert.match(printed.at(-1) ?? '', /native/);
});

it('runs the README example of the compute plan', () => {
  // --- README example starts
  const { spec, cells } = parseSweepSpec(yamlText);
  const plan = planSweep(
    spec,
    cells,
    THROUGHPUTS.filter((t) => !t.reference),
  );
  console.log(formatPlan(plan, { workers: [8, 64] }));
  // --- README example ends
  assert.equal(plan.cells, cells.length);
  assert.match(printed.at(-1) ?? '', /64/);
});
