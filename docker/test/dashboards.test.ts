/**
 * The Grafana dashboards (helm/rdlab/dashboards/*.json, also provisioned by docker/compose.yaml)
 * and the Prometheus configuration, without Grafana (none installs offline):
 *
 * - every SQL query (panels and template variables) runs, with Grafana's macros and variables
 *   substituted, against a real migrated Postgres holding a small experiment, as the read-only
 *   role of docker/postgres/grafana-reader.sql, and returns rows;
 * - every PromQL expression names only metrics of @rdlab/telemetry (histogram series included)
 *   and only labels those metrics or the scrape configuration carry;
 * - `promtool check config` accepts docker/prometheus/prometheus.yml.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createDb,
  type EmbeddedPostgres,
  migrate,
  PostgresMetricsSink,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { createMetrics, METRIC_LABELS } from '@rdlab/telemetry';
import pg from 'pg';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dashboardsDir = join(root, 'helm/rdlab/dashboards');
const POSTGRES_TYPE = 'grafana-postgresql-datasource';

interface Target {
  refId: string;
  datasource?: { type?: string; uid?: string };
  rawSql?: string;
  expr?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

async function loadDashboards(): Promise<Array<{ file: string; dashboard: Dashboard }>> {
  const files = (await readdir(dashboardsDir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      file,
      dashboard: JSON.parse(await readFile(join(dashboardsDir, file), 'utf8')) as Dashboard,
    })),
  );
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function targetType(panel: Panel, target: Target): string | undefined {
  return target.datasource?.type ?? panel.datasource?.type;
}

const dashboards = await loadDashboards();
const sqlQueries: Array<{ where: string; sql: string }> = [];
const promQueries: Array<{ where: string; expr: string }> = [];
for (const { file, dashboard } of dashboards) {
  for (const v of dashboard.templating.list) {
    if (v.type === 'query' && v.datasource?.type === POSTGRES_TYPE)
      sqlQueries.push({ where: `${file} variable $${v.name}`, sql: String(v.query) });
  }
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      const where = `${file} "${panel.title}" ${target.refId}`;
      const type = targetType(panel, target);
      if (type === POSTGRES_TYPE) sqlQueries.push({ where, sql: target.rawSql ?? '' });
      else if (type === 'prometheus') promQueries.push({ where, expr: target.expr ?? '' });
      else assert.fail(`${where}: datasource type '${type}' is neither Postgres nor Prometheus`);
    }
  }
}

describe('dashboards: structure', () => {
  test('both dashboards exist, parse, and have distinct uids', () => {
    assert.deepEqual(
      dashboards.map((d) => d.file),
      ['rdlab-experiment.json', 'rdlab-fleet.json'],
    );
    assert.equal(new Set(dashboards.map((d) => d.dashboard.uid)).size, dashboards.length);
  });

  test('panel ids are unique and every datasource uid is a variable of the dashboard', () => {
    for (const { file, dashboard } of dashboards) {
      const panels = allPanels(dashboard.panels);
      assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, `${file}: duplicate ids`);
      const variables = new Set(dashboard.templating.list.map((v) => v.name));
      for (const panel of panels) {
        for (const ds of [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)]) {
          if (!ds) continue;
          const name = /^\$\{(\w+)\}$/.exec(ds.uid ?? '')?.[1];
          assert.ok(name && variables.has(name), `${file} "${panel.title}": uid ${ds.uid}`);
        }
      }
    }
  });

  test('the experiment dashboard has the panels the issue asks for', () => {
    const experiment = dashboards.find((d) => d.dashboard.uid === 'rdlab-experiment')!.dashboard;
    const names = experiment.templating.list.map((v) => v.name);
    for (const v of ['experiment', 'dataset', 'attribute']) assert.ok(names.includes(v), v);
    const types = new Map(allPanels(experiment.panels).map((p) => [p.title, p.type]));
    assert.equal(types.get('Pareto: Acc against Reward'), 'xychart');
    assert.equal(types.get('Table 1: latest Acc and Reward'), 'table');
    assert.equal(types.get('Generated examples'), 'table');
    assert.ok(types.has('Acc per cell over epochs') && types.has('Reward per cell over epochs'));
    assert.ok(types.has('Kept fraction during training'));
    assert.ok(types.has('Importance weights during training'));
  });
});

// ---------------------------------------------------------------------------------------------
// SQL against Postgres

const EXPERIMENT = 'e0123456789abcdef';
const DROPOUTS = ['none', 'quantile-0.8', 'random-0.8'];
const ATTRIBUTES = ['negative', 'positive'];

/** Grafana's macros and this dashboard's variables, as Grafana would expand them. */
function substitute(sql: string): string {
  const out = sql
    .replace(
      /\$__timeGroupAlias\(\s*([\w."]+)\s*,[^)]*\)/g,
      `to_timestamp(floor(extract(epoch from $1) / 60) * 60) AS "time"`,
    )
    .replace(
      /\$__timeGroup\(\s*([\w."]+)\s*,[^)]*\)/g,
      'to_timestamp(floor(extract(epoch from $1) / 60) * 60)',
    )
    .replace(
      /\$__timeFilter\(\s*([\w."]+)\s*\)/g,
      `$1 BETWEEN now() - interval '7 days' AND now() + interval '1 day'`,
    )
    .replace(/\$__interval\b/g, `'1m'`)
    .replace(/\$experiment\b/g, EXPERIMENT)
    .replace(/\$dataset\b/g, `'demo'`)
    .replace(/\$attribute\b/g, ATTRIBUTES.map((a) => `'${a}'`).join(','));
  const left = /\$\{?\w+/.exec(out);
  assert.equal(left, null, `a macro or variable the test does not know: ${left?.[0]}`);
  return out;
}

describe('dashboards: every SQL query runs against a migrated Postgres', () => {
  let dir = '';
  let server: EmbeddedPostgres | null = null;
  let reader: pg.Client | null = null;
  const results = new Map<string, pg.QueryResult>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdlab-dashboards-'));
    await chmod(dir, 0o755); // as root the server runs as `postgres`, which must enter the folder
    server = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
    const owner = new pg.Client({ connectionString: server.url });
    await owner.connect();
    try {
      // docker/postgres/grafana-reader.sql runs before the migrations, as in compose.
      const readerSql = (await readFile(join(root, 'docker/postgres/grafana-reader.sql'), 'utf8'))
        .split('\n')
        .filter((line) => !line.startsWith('\\') && !line.startsWith('--'))
        .join('\n')
        .replace(":'grafana_password'", `'reader-secret'`);
      await owner.query(readerSql);
      await migrate(server.url);
      await seed(server.url);
    } finally {
      await owner.end();
    }
    const url = new URL(server.url);
    url.username = 'grafana';
    url.password = 'reader-secret';
    reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
    for (const { where, sql } of sqlQueries) {
      results.set(where, await reader.query(substitute(sql)));
    }
  });

  after(async () => {
    await reader?.end();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('there are SQL queries in both dashboards', () => {
    assert.ok(sqlQueries.some((q) => q.where.startsWith('rdlab-experiment.json')));
    assert.ok(sqlQueries.some((q) => q.where.startsWith('rdlab-fleet.json')));
  });

  for (const { where } of sqlQueries) {
    test(`${where} returns rows`, () => {
      const result = results.get(where);
      assert.ok(result, 'the query ran');
      assert.ok(result.rows.length > 0, 'no rows');
    });
  }

  test('the Grafana role reads but cannot write', async () => {
    await assert.rejects(
      reader!.query(`INSERT INTO teams (id, name) VALUES ('t-x', 'intruder')`),
      /permission denied/,
    );
  });

  test('$experiment lists the experiment; Acc per cell has epochs 0–2 for every cell', () => {
    const variable = [...results].find(([w]) => w.endsWith('variable $experiment'))![1];
    assert.equal(variable.rows[0].__value, EXPERIMENT);
    const acc = [...results].find(([w]) => w.includes('"Acc per cell over epochs"'))![1];
    assert.equal(acc.rows.length, DROPOUTS.length * ATTRIBUTES.length * 3);
    assert.deepEqual([...new Set(acc.rows.map((r) => r.epoch))].sort(), [0, 1, 2]);
  });

  test('Table 1 has a row per dropout plus the start, a column per attribute × metric', () => {
    const table = [...results].find(([w]) => w.includes('"Table 1'))![1];
    const rows = new Set(table.rows.map((r) => r.dropout));
    assert.deepEqual([...rows], ['start (epoch 0)', 'none', 'quantile-0.8', 'random-0.8']);
    const columns = new Set(table.rows.map((r) => r.column));
    assert.equal(columns.size, ATTRIBUTES.length * 3);
    const none = table.rows.find((r) => r.dropout === 'none' && r.column === 'negative · Acc');
    assert.equal(Number(none.value), 0.52); // epoch 2 of the seed data below
  });

  test('the Pareto scatter gives the variants (A), the none baseline (B) and the start (C)', () => {
    const byRef = (ref: string) =>
      [...results].find(([w]) => w.includes('"Pareto') && w.endsWith(` ${ref}`))![1];
    assert.ok(byRef('A').rows.every((r) => r.dropout !== 'none'));
    assert.deepEqual(
      byRef('B').rows.map((r) => r.dropout),
      ATTRIBUTES.map(() => 'none (baseline)'),
    );
    assert.equal(byRef('C').rows.length, ATTRIBUTES.length);
  });
});

/**
 * One experiment: 3 dropouts × 2 attributes, evaluated at epochs 0–2, with training curves,
 * written by the service's own code (the repositories the API, scheduler and workers use, and
 * the workers' metrics sink), not by hand.
 */
async function seed(url: string): Promise<void> {
  const db = createDb(url);
  try {
    const repos = new Repositories(db);
    const team = await repos.teams.createTeam('lab');
    const cells = ATTRIBUTES.flatMap((attribute, a) =>
      DROPOUTS.map((dropout, d) => ({
        id: `c${attribute[0]}${d}`,
        index: a * DROPOUTS.length + d,
        dataset: 'demo',
        attribute,
        target: 'tiny',
        dropout,
        dropoutConfig: {},
        seed: 1,
      })),
    );
    await repos.experiments.createExperiment({
      id: EXPERIMENT,
      teamId: team.id,
      name: 'demo sweep',
      specSubmitted: {},
      specResolved: {},
      cells,
    });
    await repos.experiments.updateExperimentStatus(EXPERIMENT, 'running');
    const sink = new PostgresMetricsSink(db, { experimentId: EXPERIMENT });
    for (const cell of cells) {
      const d = DROPOUTS.indexOf(cell.dropout);
      await repos.cells.updateCell(EXPERIMENT, cell.id, { status: 'running', epochsDone: 2 });
      for (const epoch of [0, 1, 2]) {
        const acc = 0.5 + 0.01 * epoch * (d + 1);
        const reward = 0.4 + 0.05 * epoch * (d + 1);
        await repos.results.upsertEvalResult({
          experimentId: EXPERIMENT,
          cellId: cell.id,
          epoch,
          metrics: { acc, reward },
          acc,
          reward,
        });
        await repos.results.replaceExamples(EXPERIMENT, cell.id, epoch, [
          { prefix: 'the food', text: 'the food was great', reward, acc },
        ]);
      }
      for (let step = 1; step <= 5; step++) {
        await sink.record(
          (
            [
              ['train/loss', 3 - step * 0.1],
              ['dropout/kept_fraction', cell.dropout === 'none' ? 1 : 0.2],
              ['importance/mean_weight', 0.9 + step * 0.01],
              ['bi_objective_reward/mean', -1 + step * 0.05],
            ] as const
          ).map(([name, value]) => ({
            cell: cell.id,
            stage: 'train' as const,
            epoch: 1,
            step,
            name,
            value,
          })),
        );
      }
      const key = `train~${cell.id}`;
      await repos.stageJobs.upsertStageJob({
        experimentId: EXPERIMENT,
        key,
        kind: 'train',
        cellId: cell.id,
      });
      await repos.stageJobs.transitionByKey(key, 'active', { worker: 'w1', backend: 'native' });
    }
    await sink.close();
    await repos.workers.heartbeat({
      id: 'w1',
      backend: 'native',
      hostname: 'node-1',
      currentJob: 'train~cn0',
    });
  } finally {
    await db.$disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// PromQL

/** Labels a scrape adds (Prometheus, compose's prometheus.yml, the chart's ServiceMonitors). */
const TARGET_LABELS = ['job', 'instance', 'component', 'pool', 'namespace', 'pod', 'service'];
const PROMQL_WORDS = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ' +
    'ignoring group_left group_right bool and or unless offset rate irate increase delta idelta ' +
    'deriv histogram_quantile abs ceil floor round clamp clamp_min clamp_max label_replace ' +
    'label_join vector scalar time timestamp sort sort_desc absent absent_over_time ' +
    'avg_over_time max_over_time min_over_time sum_over_time count_over_time last_over_time ' +
    'changes resets predict_linear e inf nan'
  ).split(' '),
);

/** Metric names and label names an expression uses. */
function promqlNames(expr: string): {
  metrics: string[];
  selectorLabels: Array<{ metric: string; label: string }>;
  groupingLabels: string[];
} {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const selectorLabels: Array<{ metric: string; label: string }> = [];
  for (const m of noStrings.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g))
      selectorLabels.push({ metric: m[1] ?? '', label: l[1] ?? '' });
  }
  const groupingLabels: string[] = [];
  for (const m of noStrings.matchAll(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
  ))
    groupingLabels.push(
      ...(m[1] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  const bare = noStrings
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const metrics: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const name = m[1] ?? '';
    if (!PROMQL_WORDS.has(name)) metrics.push(name);
  }
  return { metrics, selectorLabels, groupingLabels };
}

describe('dashboards: PromQL names only rdlab metrics and their labels', async () => {
  const registry = createMetrics().registry;
  const types = new Map(
    (await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)] as const),
  );
  const labelsOf = (series: string): readonly string[] | null => {
    if (series in METRIC_LABELS) return METRIC_LABELS[series as keyof typeof METRIC_LABELS];
    const base = series.replace(/_(bucket|sum|count)$/, '');
    if (base !== series && types.get(base) === 'histogram' && base in METRIC_LABELS) {
      const labels = METRIC_LABELS[base as keyof typeof METRIC_LABELS];
      return series.endsWith('_bucket') ? [...labels, 'le'] : labels;
    }
    return null;
  };

  test('the metric list of the issue is what @rdlab/telemetry defines', () => {
    assert.deepEqual(Object.keys(METRIC_LABELS).sort(), [
      'rdlab_http_request_duration_seconds',
      'rdlab_job_duration_seconds',
      'rdlab_job_failures_total',
      'rdlab_job_retries_total',
      'rdlab_metric_points_pending',
      'rdlab_queue_depth',
      'rdlab_samples_total',
      'rdlab_tokens_total',
      'rdlab_workers_active',
    ]);
  });

  test('the parser finds names, selectors and groupings', () => {
    const names = promqlNames(
      'histogram_quantile(0.95, sum by (le, stage) (rate(rdlab_job_duration_seconds_bucket{component="worker"}[$__rate_interval]))) / on(stage) group_left foo_bar',
    );
    assert.deepEqual(names.metrics, ['rdlab_job_duration_seconds_bucket', 'foo_bar']);
    assert.deepEqual(names.selectorLabels, [
      { metric: 'rdlab_job_duration_seconds_bucket', label: 'component' },
    ]);
    assert.deepEqual(names.groupingLabels, ['le', 'stage', 'stage']);
  });

  test('the fleet dashboard has PromQL panels', () => {
    assert.ok(promQueries.length >= 8);
  });

  for (const { where, expr } of promQueries) {
    test(where, () => {
      const { metrics, selectorLabels, groupingLabels } = promqlNames(expr);
      assert.ok(metrics.length > 0, `no metric in ${expr}`);
      const known = new Set<string>(TARGET_LABELS);
      for (const metric of metrics) {
        const labels = labelsOf(metric);
        assert.ok(labels, `${metric} is not a metric of @rdlab/telemetry (in ${expr})`);
        for (const l of labels) known.add(l);
      }
      for (const { metric, label } of selectorLabels)
        assert.ok(
          [...(labelsOf(metric) ?? []), ...TARGET_LABELS].includes(label),
          `${metric} has no label ${label}`,
        );
      for (const label of groupingLabels) assert.ok(known.has(label), `unknown label ${label}`);
    });
  }
});

describe('prometheus.yml', () => {
  const promtool = spawnSync('promtool', ['--version']).status === 0;
  test('promtool check config accepts docker/prometheus/prometheus.yml', {
    skip: promtool ? false : 'promtool is not installed (apt-get install prometheus)',
  }, () => {
    const r = spawnSync(
      'promtool',
      ['check', 'config', join(root, 'docker/prometheus/prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
