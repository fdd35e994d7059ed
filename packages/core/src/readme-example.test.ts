/** The README example, type-checked and run (apps/cli/test/readmes.test.ts keeps the two equal). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { parseSweepSpec, SpecError } from './index.js';

const demo = new URL('../../../examples/demo.yaml', import.meta.url);

for (const [name, text] of [
  ['a valid spec', await readFile(demo, 'utf8')],
  ['an invalid one', 'datasets: []\ndropuot: []\n'],
] as const) {
  it(`runs the README example on ${name}`, () => {
    const yamlOrJsonText = text;
    const logged: unknown[][] = [];
    const console = { log: (...values: unknown[]) => void logged.push(values) };
    // --- README example starts
    try {
      const { spec, cells } = parseSweepSpec(yamlOrJsonText);
      console.log(cells.length, cells[0]?.id);
    } catch (error) {
      if (error instanceof SpecError)
        for (const p of error.problems) console.log(p.path, p.message);
    }
    // --- README example ends
    assert.ok(logged.length > 0);
    if (name === 'a valid spec') assert.match(String(logged[0]?.[1]), /^c[0-9a-f]{16}$/);
    else assert.ok(logged.some(([path]) => path === '/dropuot'));
  });
}
