/**
 * The dashboard in Chromium (playwright-core driving /usr/bin/chromium) on the real embedded
 * stack: Postgres, Redis, the API serving the freshly built dashboard, the scheduler and a worker
 * process. One tiny sweep is submitted through the page and followed live to `succeeded`; its
 * pages render with its real data; a spec with errors shows them at their lines; a longer sweep
 * is cancelled from its page. Screenshots go to apps/web/test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Stack, startStack } from '../../cli/src/stack/stack.js';
import { buildWeb } from '../build.mjs';
import { num } from '../src/format.js';
import { type SpecTemplate, TEMPLATES } from '../src/templates.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install chromium)`;

/** The submit page's tiny template with two seeds, so the curves have intervals; about 10 s. */
const TINY = `${(TEMPLATES.find((t) => t.id === 'tiny') as SpecTemplate).yaml
  .replace(/^#.*\n/, '')
  .replace('name: tiny', 'name: web')
  .replace('examples: 3', 'examples: 2')}seeds: [1, 2]
`;
const BROKEN = TINY.replace('gamma: 0.5', 'gamma: 1.5').replace('batchSize: 8', 'batchSize: 0');

const lineOf = (text: string, needle: string) =>
  text.split('\n').findIndex((line) => line.includes(needle)) + 1;

describe('the dashboard in a browser on the embedded stack', { skip, timeout: 240_000 }, () => {
  let root: string;
  let stack: Stack;
  let context: BrowserContext;
  let page: Page;
  let experimentId = '';
  const pageErrors: string[] = [];
  const consoleLines: string[] = [];

  const url = (path: string) => new URL(path, stack.apiUrl).href;
  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const text = async (selector: string) => (await page.textContent(selector)) ?? '';
  const statusOf = () => page.getAttribute('#experiment-status [data-status]', 'data-status');

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    root = await mkdtemp(join(tmpdir(), 'rdlab-web-'));
    // Embedded Postgres runs as its own user when we are root: it must reach the data dir.
    await chmod(root, 0o755);
    // Before the stack: the API looks for apps/web/dist when it is built.
    await buildWeb();
    stack = await startStack({ dataDir: join(root, 'stack'), port: 0, workers: 1, baseDir: root });
    context = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        consoleLines.push(`${message.type()}: ${message.text()}`);
    });
  });

  after(async () => {
    await writeFile(join(ARTIFACTS, 'console.txt'), consoleLines.join('\n')).catch(() => {});
    await context?.close().catch(() => {});
    await stack?.stop();
    if (root) await rm(root, { recursive: true, force: true }).catch(() => {});
  });

  it('sends a refused token back to the sign-in page with the API message, then signs in', async () => {
    await page.goto(url('/'));
    await page.waitForURL(/\/token\?next=/);
    await page.evaluate(() => localStorage.setItem('rdlab.token', 'rdl_not-a-real-token'));
    await page.goto(url('/workers'));
    await page.waitForURL(/\/token\?next=%2Fworkers/);
    await page.waitForSelector('#token-status .notice-error');
    assert.match(await text('#token-status'), /refused the token: the bearer token is unknown/);
    await shot('token-refused');

    await page.fill('#token', stack.token);
    await page.click('button[type=submit]');
    await page.waitForURL(url('/workers'));
    await page.waitForSelector('#queues');
    assert.equal(await page.evaluate(() => localStorage.getItem('rdlab.token')), stack.token);
  });

  it('shows each problem of an invalid spec at its line', async () => {
    await page.click('nav a[href="/submit"]');
    await page.waitForSelector('#spec');
    await page.fill('#spec', BROKEN);
    await page.click('#check');
    await page.waitForSelector('#problems li');
    const problems = await page.$$eval('#problems li', (items) =>
      items.map((li) => ({
        line: Number(li.getAttribute('data-line')),
        path: li.getAttribute('data-path'),
      })),
    );
    const at = (path: string) => problems.find((p) => p.path === path)?.line;
    assert.equal(at('/dropout/1/gamma'), lineOf(BROKEN, 'gamma: 1.5'), JSON.stringify(problems));
    assert.equal(
      at('/training/batchSize'),
      lineOf(BROKEN, 'batchSize: 0'),
      JSON.stringify(problems),
    );
    // The gutter marks the same lines.
    const marked = await page.$$eval('.gutter .ln.bad', (els) =>
      els.map((e) => Number(e.getAttribute('data-line'))),
    );
    assert.ok(
      marked.includes(lineOf(BROKEN, 'gamma: 1.5')) &&
        marked.includes(lineOf(BROKEN, 'batchSize: 0')),
    );
    await shot('submit-problems');
    // "Line N" moves the caret to that line.
    await page.click(`#problems li[data-path="/training/batchSize"] button`);
    const caretLine = await page.$eval('#spec', (t) => {
      const area = t as HTMLTextAreaElement;
      return area.value.slice(0, area.selectionStart).split('\n').length;
    });
    assert.equal(caretLine, lineOf(BROKEN, 'batchSize: 0'));
  });

  it('checks a valid spec and shows its plan with the compute per backend', async () => {
    await page.fill('#spec', TINY);
    await page.click('#check');
    await page.waitForSelector('#plan');
    const plan = await text('#plan');
    assert.match(plan, /Valid: “web”, 4 cells/);
    assert.match(plan, /Shards/);
    assert.ok((await page.$$('#estimates tbody tr')).length >= 1);
    await shot('submit-plan');
  });

  it('submits the sweep and follows it to succeeded without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { __samePage: boolean }).__samePage = true;
    });
    await page.click('#submit');
    await page.waitForURL(/\/experiments\/e[0-9a-f]+$/);
    experimentId = page.url().split('/').at(-1) ?? '';
    await page.waitForSelector('#experiment-status [data-status]');
    // Every status the page shows from now on, in order.
    // Every status the page shows from now on, in order. (A string: tsx's helpers do not exist
    // in the page.)
    await page.evaluate(`(() => {
      const host = document.getElementById('experiment-status');
      const seen = [];
      const note = () => {
        const s = host.querySelector('[data-status]')?.getAttribute('data-status');
        if (s && seen.at(-1) !== s) seen.push(s);
      };
      note();
      new MutationObserver(note).observe(host, { childList: true, subtree: true });
      window.__statuses = seen;
    })()`);
    const first = await statusOf();
    assert.ok(first === 'queued' || first === 'running', `first status ${first}`);
    await page.waitForSelector('#table1');
    await shot('experiment-running');

    await page.waitForSelector('#experiment-status [data-status="succeeded"]', { timeout: 90_000 });
    const seen = await page.evaluate(
      () => (window as unknown as { __statuses: string[] }).__statuses,
    );
    assert.equal(seen.at(-1), 'succeeded');
    assert.ok(seen.length >= 2, `statuses seen: ${seen.join(' → ')}`);
    assert.equal(
      await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage),
      true,
    );

    // The report's grid: a start row, none and quantile, verdicts against the start and none.
    await page.waitForSelector('#table1 .badge:has-text("vs start")');
    const rows = await page.$$eval('#table1 tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-row')),
    );
    assert.deepEqual(rows, ['tiny/start', 'tiny/none', 'tiny/quantile-0.5']);
    const table = await text('#table1');
    assert.match(table, /Acc \d\.\d{3,} · Reward \d\.\d{3,}/);
    assert.match(table, /vs none: /);
    // The Pareto scatter of demo/positive, drawn.
    assert.ok(await page.isVisible('figure[data-chart^="pareto"] canvas'));
    assert.match(
      (await page.getAttribute('figure[data-chart^="pareto"] [role=img]', 'aria-label')) ?? '',
      /start at Acc .*none at Acc .*quantile-0\.5 at Acc/,
    );
    // Cells with their latest Acc.
    assert.equal((await page.$$('#cells tbody tr')).length, 4);
    const results = await fetch(url(`/v1/experiments/${experimentId}/results`), {
      headers: { authorization: `Bearer ${stack.token}` },
    }).then(
      (r) =>
        r.json() as Promise<{
          report: { variants: Array<{ dropout: { kind: string }; acc: { mean: number } }> };
        }>,
    );
    const none = results.report.variants.find((v) => v.dropout.kind === 'none');
    assert.ok(table.includes(`Acc ${num(none?.acc.mean)}`), 'the grid shows the report’s numbers');
    await shot('experiment-succeeded');
    const [pareto] = await Promise.all([
      page.waitForEvent('download'),
      page.click('figure[data-chart^="pareto"] button:has-text("PNG")'),
    ]);
    assert.match(pareto.suggestedFilename(), /^pareto-demo-positive-tiny\.png$/);
    await pareto.saveAs(join(ARTIFACTS, 'chart-pareto.png'));
    // The HTML report, in a sandboxed frame (no scripts, not this origin).
    await page.click('button:has-text("HTML report")');
    await page.waitForSelector('iframe.report-frame');
    assert.equal(await page.getAttribute('iframe.report-frame', 'sandbox'), '');
    const report = page.frameLocator('iframe.report-frame');
    assert.match((await report.locator('body').textContent()) ?? '', /web/);
    await page.click('button:has-text("HTML report")');
    assert.equal(await page.$('iframe.report-frame'), null);
  });

  it('shows a cell: curves by epoch and step, exports a chart, generated examples', async () => {
    await page.click('#table1 tr[data-row="tiny/quantile-0.5"] .members a >> nth=0');
    await page.waitForURL(/\/cells\/c[0-9a-f]+\?experiment=/);
    await page.waitForSelector('#examples tbody tr');
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => f.getAttribute('data-chart')),
    );
    assert.ok(
      charts.some((c) => c?.endsWith('acc-by-epoch')),
      charts.join(),
    );
    assert.ok(
      charts.some((c) => c?.endsWith('reward-by-epoch')),
      charts.join(),
    );
    assert.ok(
      charts.some((c) => c?.includes('train-loss')),
      charts.join(),
    );
    assert.ok(
      charts.some((c) => c?.includes('kept_fraction')),
      charts.join(),
    );
    assert.ok(
      charts.some((c) => c?.includes('mean_weight')),
      charts.join(),
    );
    // Acc by epoch starts at epoch 0 (the start) and runs to the last epoch.
    const epochsShown = await page.$$eval(
      'figure.chart[data-chart$="acc-by-epoch"] .chart-table tbody tr',
      (trs) => trs.map((tr) => tr.firstElementChild?.textContent),
    );
    assert.deepEqual(epochsShown, ['0', '1', '2']);
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.click('figure.chart[data-chart$="acc-by-epoch"] button:has-text("PNG")'),
    ]);
    assert.match(png.suggestedFilename(), /acc-by-epoch\.png$/);
    await png.saveAs(join(ARTIFACTS, 'chart-acc-by-epoch.png'));
    // With the keyboard: the export buttons are real buttons.
    await page.focus('figure.chart[data-chart$="acc-by-epoch"] button:has-text("CSV")');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const csvPath = join(ARTIFACTS, 'chart-acc-by-epoch.csv');
    await csv.saveAs(csvPath);
    const lines = (await readFile(csvPath, 'utf8')).trim().split('\r\n');
    assert.equal(lines[0], 'epoch,seed 1,mean of 2 seeds,mean of 2 seeds low,mean of 2 seeds high');
    assert.deepEqual(
      lines.slice(1).map((l) => Number(l.split(',')[0])),
      [0, 1, 2],
    );
    assert.ok((await page.$$('#examples tbody tr')).length >= 1);
    await shot('cell');
  });

  it('lists the experiment, and shows the workers and queues', async () => {
    await page.click('nav a[href="/"]');
    // Focus lands on the new page's heading; Tab goes on to its first control.
    await page.waitForSelector('h1:has-text("Experiments")');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'New sweep');
    await page.waitForSelector(`#experiments tr[data-id="${experimentId}"]`);
    const row = await text(`#experiments tr[data-id="${experimentId}"]`);
    assert.match(row, /web/);
    assert.match(row, /succeeded/);
    assert.match(row, /4\/4 cells/);
    await shot('experiments');
    await page.click('nav a[href="/workers"]');
    await page.waitForSelector('#workers tbody tr');
    assert.match(await text('#workers'), /alive/);
    assert.match(await text('#queues'), /rdlab-stages/);
    await shot('workers');
  });

  it('cancels a running experiment from its page', async () => {
    const long = TINY.replace('name: web', 'name: web-long').replace('epochs: 2', 'epochs: 50');
    const submitted = (await fetch(url('/v1/experiments'), {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/yaml' },
      body: long,
    }).then((r) => r.json())) as { id: string };
    await page.goto(url(`/experiments/${submitted.id}`));
    await page.waitForSelector('#cancel');
    await page
      .waitForSelector('#experiment-status [data-status="running"]', { timeout: 20_000 })
      .catch(() => {});
    // With the keyboard: focus the button, Enter, accept the confirmation.
    await page.focus('#cancel');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.keyboard.press('Enter');
    await page.waitForSelector('#experiment-status [data-status="cancelled"]');
    assert.equal(await page.$('#cancel'), null);
    // Its cells and progress follow (the page fetched the final state).
    await page.waitForFunction(() =>
      /4 cancelled/.test(document.getElementById('progress-summary')?.textContent ?? ''),
    );
    const view = (await fetch(url(`/v1/experiments/${submitted.id}`), {
      headers: { authorization: `Bearer ${stack.token}` },
    }).then((r) => r.json())) as { status: string };
    assert.equal(view.status, 'cancelled');
    await shot('experiment-cancelled');
  });

  it('raised no uncaught error in the page', async () => {
    await writeFile(
      join(ARTIFACTS, 'page-errors.txt'),
      [...pageErrors, ...consoleLines].join('\n'),
    );
    assert.deepEqual(pageErrors, []);
  });
});
