/**
 * Every ```ts block of every packages/* and apps/* README is code a test type-checks and runs:
 * its statements sit verbatim (de-indented) between `// --- README example starts` and
 * `// --- README example ends` in a *.test.ts file of the same package or app, and each name
 * its imports bring in is imported by that file too (from the package itself as a relative
 * path). One check for all READMEs; signature listings are ```text, shell commands ```bash/```sh.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The ```ts blocks of a README, as written. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

/** Leading import statements (one or several lines each) and the rest of a block. */
function splitImports(block: string): { imports: string[]; body: string } {
  const imports: string[] = [];
  let rest = block;
  for (;;) {
    rest = rest.replace(/^\s*\n/, '');
    const m = /^import [\s\S]*? from '[^']+';\n/.exec(rest);
    if (!m) break;
    imports.push(m[0]);
    rest = rest.slice(m[0].length);
  }
  return { imports, body: rest };
}

/** Names an import statement binds, by module: `{ a, b as c, type D }` → a, b, D. */
function importedNames(statement: string): { module: string; names: string[] } {
  const module = /from '([^']+)'/.exec(statement)?.[1] ?? '';
  const braces = /\{([\s\S]*?)\}/.exec(statement)?.[1] ?? '';
  const names = braces
    .split(',')
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((s) => s.split(/\s+as\s+/)[0] as string);
  return { module, names };
}

/** The marked regions of a test file, de-indented by their start marker's indent. */
function regions(source: string): string[] {
  const out: string[] = [];
  const start = /^( *)\/\/ --- README example starts\n/gm;
  for (let m = start.exec(source); m; m = start.exec(source)) {
    const from = m.index + m[0].length;
    const end = source.indexOf('// --- README example ends', from);
    assert.ok(end > 0, 'a README example start marker without its end');
    const body = source.slice(from, source.lastIndexOf('\n', end) + 1);
    out.push(body.replace(new RegExp(`^${m[1]}`, 'gm'), ''));
  }
  return out;
}

function testFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'build', 'carry'].includes(entry.name)) continue;
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const folders = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(root, group, e.name)),
);

describe('README code blocks', () => {
  for (const folder of folders) {
    let readme: string;
    try {
      readme = readFileSync(join(folder, 'README.md'), 'utf8');
    } catch {
      continue;
    }
    const name = relative(root, folder);
    const ownName = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')).name as string;
    const blocks = tsBlocks(readme);
    if (blocks.length === 0) continue;
    it(`${name}: every \`\`\`ts block is run by a test`, () => {
      const files = testFiles(folder).map((path) => ({ path, source: readFileSync(path, 'utf8') }));
      blocks.forEach((block, i) => {
        const { imports, body } = splitImports(block);
        const where = `${name}/README.md, ts block ${i + 1}`;
        const file = files.find((f) => regions(f.source).some((r) => r.includes(body)));
        assert.ok(
          file && body.trim().length > 0,
          `${where} is in no "// --- README example starts/ends" region of a test in ${name}:\n${body}`,
        );
        const theirs = splitImports(file.source.replace(/^\/\*\*[\s\S]*?\*\/\n/, '')).imports.map(
          importedNames,
        );
        for (const statement of imports) {
          const { module, names } = importedNames(statement);
          const own = module === ownName;
          const available = new Set(
            theirs
              .filter((t) => t.module === module || (own && t.module.startsWith('.')))
              .flatMap((t) => t.names),
          );
          for (const n of names)
            assert.ok(
              available.has(n),
              `${where} imports ${n} from ${module}; ${relative(root, file.path)} does not`,
            );
        }
      });
    });
  }

  it('finds the blocks it checks', () => {
    const count = folders
      .map((f) => {
        try {
          return tsBlocks(readFileSync(join(f, 'README.md'), 'utf8')).length;
        } catch {
          return 0;
        }
      })
      .reduce((a, b) => a + b, 0);
    assert.ok(count >= 10, `only ${count} ts blocks found`);
  });
});
