import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** What the API and the scheduler must not load through this package. */
const ENGINE = /^(@rdlab\/ml|@tensorflow\/|apache-arrow)/;

/** Bare specifiers imported (not type-only) by the package's non-test sources. */
async function imports(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of await readdir(dir, { recursive: true })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.test.ts')) continue;
    const text = await readFile(join(dir, entry), 'utf8');
    for (const m of text.matchAll(
      /^\s*(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^'.][^']*)'/gms,
    ))
      found.add(m[1] as string);
  }
  return found;
}

describe('@rdlab/plan', () => {
  it('loads no ML engine, directly or through the workspace packages it imports', async () => {
    const seen = new Set<string>();
    const queue = ['@rdlab/plan'];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      assert.doesNotMatch(name, ENGINE, `@rdlab/plan reaches ${name}`);
      if (!name.startsWith('@rdlab/')) continue;
      const pkg = name.slice('@rdlab/'.length).split('/')[0] as string;
      const manifest = JSON.parse(
        await readFile(join(root, 'packages', pkg, 'package.json'), 'utf8'),
      ) as { dependencies?: Record<string, string> };
      for (const dep of Object.keys(manifest.dependencies ?? {}))
        assert.doesNotMatch(dep, ENGINE, `${name} depends on ${dep}`);
      for (const spec of await imports(join(root, 'packages', pkg, 'src'))) queue.push(spec);
    }
    assert.ok(seen.has('@rdlab/core'));
  });
});
