/** The README example, type-checked and run (apps/cli/test/readmes.test.ts keeps the two equal). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { parseSweepSpec, SpecError } from './index.js';

/** What the example prints for a spec text. */
function example(yamlOrJsonText: string): unknown[][] {
  const logged: unknown[][] = [];
  const console = { log: (...values: unknown[]) => void logged.push(values) };
  // --- README example starts
  try {
    const { spec, cells } = parseSweepSpec(yamlOrJsonText);
    console.log(spec.name, cells.length, cells[0]?.id);
  } catch (error) {
    if (error instanceof SpecError) for (const p of error.problems) console.log(p.path, p.message);
  }
  // --- README example ends
  return logged;
}

it('runs the README example on a valid spec', async () => {
  const logged = example(
    await readFile(new URL('../../../examples/demo.yaml', import.meta.url), 'utf8'),
  );
  assert.match(String(logged[0]?.[2]), /^c[0-9a-f]{16}$/);
});

it('runs the README example on an invalid spec', () => {
  const logged = example('datasets: []\ndropuot: []\n');
  assert.ok(logged.some(([path]) => path === '/dropuot'));
});
