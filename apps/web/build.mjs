#!/usr/bin/env node
/**
 * Builds the dashboard into dist/: index.html, app.js (src/main.ts with uPlot and yaml bundled
 * in, ESM) and app.css (src/app.css with uPlot's CSS inlined). No CDN: everything the page
 * loads comes from the API that serves dist/.
 *
 * ```sh
 * node apps/web/build.mjs            # or: npm run build -w @rdlab/web
 * ```
 *
 * ```js
 * import { buildWeb } from './build.mjs';
 * const { outDir, files } = await buildWeb({ minify: false });
 * ```
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Where the API looks for the dashboard by default (apps/api `webRoot`). */
export const DIST = join(here, 'dist');

/**
 * @param {{ outDir?: string, minify?: boolean, sourcemap?: boolean }} [options]
 *   outDir: @defaultValue apps/web/dist; minify: @defaultValue true; sourcemap: @defaultValue false
 * @returns {Promise<{ outDir: string, files: Array<{ name: string, bytes: number }> }>}
 */
export async function buildWeb(options = {}) {
  const outDir = options.outDir ?? DIST;
  const minify = options.minify ?? true;
  const sourcemap = options.sourcemap ?? false;
  await mkdir(outDir, { recursive: true });
  await build({
    // app.js and app.css: the same name, told apart by the extension.
    entryPoints: [
      { in: join(here, 'src/main.ts'), out: 'app' },
      { in: join(here, 'src/app.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify,
    sourcemap,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  await copyFile(join(here, 'src/index.html'), join(outDir, 'index.html'));
  const files = [];
  for (const name of ['index.html', 'app.js', 'app.css']) {
    files.push({ name, bytes: (await stat(join(outDir, name))).size });
  }
  return { outDir, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { outDir, files } = await buildWeb();
  for (const f of files) console.log(`${join(outDir, f.name)}  ${(f.bytes / 1024).toFixed(1)} KiB`);
}
