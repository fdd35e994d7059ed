/**
 * One cell (`/cells/:cellId?experiment=…`): Acc and Reward over epochs from the start (epoch 0),
 * with the mean ± sd over seeds shaded where the variant has several; the training loss, the
 * fraction of samples reward dropout kept and the mean importance weight by step; any other
 * metric the stages recorded; and the generated examples of results.json once the experiment
 * finished. Live while the experiment runs.
 */
import { type ApiClient, ApiError } from '../api.js';
import type { Chart } from '../charts/chart.js';
import { type LineSeries, lineChart } from '../charts/line.js';
import { OKABE_ITO } from '../charts/palette.js';
import { h, keepingFocus, replace } from '../dom.js';
import { num } from '../format.js';
import { statOf } from '../grid.js';
import type { RouteContext } from '../router.js';
import { streamEvents } from '../sse.js';
import {
  type CellResult,
  type CellSummary,
  type ExperimentDetail,
  type GeneratedExample,
  isFinished,
  type MetricPoint,
} from '../types.js';
import { errorView, heading, loading, statusBadge, throttle } from './common.js';

/** Step charts drawn for every cell, in order; any other series goes in the chooser. */
const STEP_CHARTS = [
  { name: 'train/loss', title: 'Training loss', y: 'loss' },
  { name: 'dropout/kept_fraction', title: 'Kept fraction (reward dropout)', y: 'fraction kept' },
  { name: 'importance/mean_weight', title: 'Importance weight (mean, clipped)', y: 'weight' },
] as const;

const METRICS_REFRESH_MS = 2000;

/** The last value per epoch of a series (a resumed epoch may have recorded twice). */
export function byEpoch(points: readonly MetricPoint[] | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of points ?? []) out.set(p.epoch, p.value);
  return out;
}

export function cellPage(api: ApiClient) {
  return async (ctx: RouteContext) => {
    const cellId = ctx.params.cellId as string;
    ctx.root.append(loading('Loading the cell…'));
    let experimentId = ctx.query.get('experiment') ?? '';
    let experiment: ExperimentDetail;
    let cells: CellSummary[];
    let series: Record<string, MetricPoint[]>;
    try {
      const metrics = await api.metrics(cellId, experimentId || undefined);
      experimentId = metrics.experimentId;
      series = metrics.series;
      [experiment, cells] = await Promise.all([
        api.experiment(experimentId),
        api.cells(experimentId).then((c) => c.items),
      ]);
    } catch (error) {
      if (ctx.signal.aborted) return;
      replace(ctx.root, heading('Cell'), errorView(error) ?? '');
      return;
    }
    if (ctx.signal.aborted) return;
    const cell = cells.find((c) => c.id === cellId);
    if (!cell) {
      replace(
        ctx.root,
        heading('Cell'),
        errorView(new Error(`cell ${cellId} is not in experiment ${experimentId}`)) ?? '',
      );
      return;
    }
    const epochs =
      typeof experiment.spec?.training?.epochs === 'number'
        ? experiment.spec.training.epochs
        : null;
    const siblings = cells.filter(
      (c) =>
        c.dataset === cell.dataset &&
        c.attribute === cell.attribute &&
        c.target === cell.target &&
        c.dropoutLabel === cell.dropoutLabel,
    );
    let current = cell;
    let siblingSeries = new Map<string, Record<string, MetricPoint[]>>([[cellId, series]]);

    const title = `${cell.dataset}/${cell.attribute} · ${cell.target} · ${cell.dropoutLabel} · seed ${cell.seed}`;
    const summary = h('dl', { class: 'meta' });
    const epochCharts = h('div', { class: 'charts' });
    const stepCharts = h('div', { class: 'charts' });
    const otherHost = h('div', { class: 'charts' });
    const examplesHost = h('section', { 'aria-labelledby': 'examples-title' });
    const liveNote = h('p', { class: 'help', 'aria-live': 'polite' });
    const chooser = h('select', { id: 'metric-chooser' });
    let charts: Chart[] = [];
    let otherChart: Chart | null = null;

    replace(
      ctx.root,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '/' }, 'Experiments'),
        ' / ',
        h('a', { href: `/experiments/${experimentId}` }, experiment.name),
        ' / ',
        `cell ${cellId}`,
      ),
      heading(title),
      summary,
      liveNote,
      h(
        'section',
        { 'aria-labelledby': 'epochs-title' },
        h('h2', { id: 'epochs-title' }, 'Acc and Reward by epoch'),
        epochCharts,
      ),
      h(
        'section',
        { 'aria-labelledby': 'steps-title' },
        h('h2', { id: 'steps-title' }, 'Training by step'),
        stepCharts,
      ),
      h(
        'section',
        { 'aria-labelledby': 'other-title' },
        h('h2', { id: 'other-title' }, 'Other metrics'),
        h('div', { class: 'toolbar' }, h('label', { for: 'metric-chooser' }, 'Metric '), chooser),
        otherHost,
      ),
      examplesHost,
    );

    const renderSummary = () => {
      replace(
        summary,
        h('dt', {}, 'Status'),
        h('dd', {}, statusBadge(current.status)),
        h('dt', {}, 'Epochs'),
        h('dd', {}, epochs ? `${current.epochsDone}/${epochs}` : String(current.epochsDone)),
        h('dt', {}, 'Start (epoch 0)'),
        h('dd', {}, `Acc ${num(current.start?.acc)} · Reward ${num(current.start?.reward)}`),
        h('dt', {}, 'Latest'),
        h(
          'dd',
          {},
          current.latest
            ? `epoch ${current.latest.epoch}: Acc ${num(current.latest.acc)} · Reward ${num(current.latest.reward)}`
            : '–',
        ),
        h('dt', {}, 'Seeds of this variant'),
        h(
          'dd',
          {},
          ...siblings.flatMap((s, i) => [
            i ? ', ' : '',
            s.id === cellId
              ? h('strong', {}, `seed ${s.seed}`)
              : h('a', { href: `/cells/${s.id}?experiment=${experimentId}` }, `seed ${s.seed}`),
          ]),
        ),
      );
    };

    const epochChart = (metric: 'acc' | 'reward', label: string, color: string) => {
      const mine = byEpoch(series[`eval/${metric}`]);
      const all = siblings.map((s) => byEpoch(siblingSeries.get(s.id)?.[`eval/${metric}`]));
      const xs = [...new Set([...mine.keys(), ...all.flatMap((m) => [...m.keys()])])].sort(
        (a, b) => a - b,
      );
      const lines: LineSeries[] = [
        { label: `seed ${cell.seed}`, values: xs.map((x) => mine.get(x) ?? null), color },
      ];
      const withSeeds = all.filter((m) => m.size > 0).length;
      if (withSeeds > 1) {
        const stats = xs.map((x) =>
          statOf(all.flatMap((m) => (m.has(x) ? [m.get(x) as number] : []))),
        );
        lines.push({
          label: `mean of ${withSeeds} seeds`,
          values: stats.map((s) => s?.mean ?? null),
          band: {
            low: stats.map((s) => (s ? s.mean - s.sd : null)),
            high: stats.map((s) => (s ? s.mean + s.sd : null)),
          },
          color: OKABE_ITO.black,
          dash: [5, 3],
        });
      }
      return lineChart({
        title: `${label} by epoch (0 = start)`,
        filename: `${cellId}-${metric}-by-epoch`,
        xLabel: 'epoch',
        yLabel: label,
        x: xs,
        series: lines,
        points: true,
        ...(withSeeds > 1 ? { bandNote: `mean ± sd over ${withSeeds} seeds` } : {}),
      });
    };

    const stepChart = (name: string, title: string, y: string) => {
      const points = series[name] ?? [];
      return lineChart({
        title,
        filename: `${cellId}-${name}`,
        xLabel: 'step',
        yLabel: y,
        x: points.map((p) => p.step),
        series: [{ label: name, values: points.map((p) => p.value) }],
        points: points.length <= 40,
        height: 220,
      });
    };

    const renderOther = () => {
      otherChart?.destroy();
      otherChart = null;
      otherHost.replaceChildren();
      const name = chooser.value;
      if (name) otherChart = stepChart(name, name, name).mount(otherHost);
    };

    const renderCharts = () => {
      for (const chart of charts) chart.destroy();
      charts = [];
      epochCharts.replaceChildren();
      stepCharts.replaceChildren();
      if (!series['eval/acc'] && !series['eval/reward']) {
        epochCharts.append(
          h(
            'p',
            { class: 'muted' },
            'No evaluation yet: the start point (epoch 0) is measured before the first training step.',
          ),
        );
      } else {
        charts.push(epochChart('acc', 'Acc', OKABE_ITO.blue).mount(epochCharts));
        charts.push(epochChart('reward', 'Reward', OKABE_ITO.orange).mount(epochCharts));
      }
      const steps = STEP_CHARTS.filter((c) => series[c.name]?.length);
      if (steps.length === 0)
        stepCharts.append(h('p', { class: 'muted' }, 'No training steps yet.'));
      for (const c of steps) charts.push(stepChart(c.name, c.title, c.y).mount(stepCharts));
      const shown = new Set<string>(['eval/acc', 'eval/reward', ...STEP_CHARTS.map((c) => c.name)]);
      const others = Object.keys(series)
        .filter((n) => !shown.has(n))
        .sort();
      const selected = chooser.value;
      replace(
        chooser,
        h('option', { value: '' }, others.length ? 'Choose a metric…' : 'No other metrics'),
        ...others.map((n) => h('option', { value: n, selected: n === selected }, n)),
      );
      renderOther();
    };
    chooser.addEventListener('change', renderOther);

    const renderExamples = (result: CellResult | null, reason: string | null) => {
      const title = h('h2', { id: 'examples-title' }, 'Generated examples');
      if (!result) {
        replace(examplesHost, title, h('p', { class: 'muted' }, reason ?? 'No examples.'));
        return;
      }
      const finals = result.final.examples ?? [];
      const starts = result.start.examples ?? [];
      if (finals.length === 0) {
        replace(
          examplesHost,
          title,
          h('p', { class: 'muted' }, 'This sweep kept no examples (evaluation.examples is 0).'),
        );
        return;
      }
      const row = (e: GeneratedExample, i: number) =>
        h(
          'tr',
          {},
          h('td', {}, e.prefix),
          h('td', {}, starts[i]?.generation ?? '–'),
          h('td', {}, e.generation),
          h('td', {}, e.reference),
          h('td', { class: 'num' }, num(e.acc)),
          h('td', { class: 'num' }, num(e.reward)),
        );
      replace(
        examplesHost,
        title,
        h(
          'p',
          { class: 'help' },
          'Held-out prefixes; the target’s continuation before training (start) and after the last epoch, the original sentence, and Acc and Reward of the final generation.',
        ),
        h(
          'table',
          { class: 'list examples', id: 'examples' },
          h('caption', { class: 'visually-hidden' }, 'Generated examples'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Prefix', 'Start', 'Final', 'Reference', 'Acc', 'Reward'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h('tbody', {}, ...finals.map(row)),
        ),
      );
    };

    const loadSiblings = async () => {
      const others = siblings.filter((s) => s.id !== cellId);
      const got = await Promise.all(
        others.map(
          async (s) =>
            [s.id, (await api.metrics(s.id, experimentId, undefined, ctx.signal)).series] as const,
        ),
      );
      siblingSeries = new Map([[cellId, series], ...got]);
    };

    const loadExamples = async () => {
      if (!isFinished(experiment.status)) {
        renderExamples(null, 'Examples come with the results, once the experiment has finished.');
        return;
      }
      try {
        const results = await api.results(experimentId);
        renderExamples(
          results.results.find((r) => r.cell.id === cellId) ?? null,
          'This cell has no result in the report.',
        );
      } catch (error) {
        if (error instanceof ApiError && error.code === 'RDLAB_RESULTS_NOT_READY')
          renderExamples(null, error.message);
        else throw error;
      }
    };

    renderSummary();
    try {
      await loadSiblings();
    } catch (error) {
      liveNote.append(errorView(error) ?? '');
    }
    renderCharts();
    await loadExamples().catch((error) => examplesHost.append(errorView(error) ?? ''));
    if (isFinished(experiment.status)) return;

    // ─── Live ────────────────────────────────────────────────────────────────
    const refresh = throttle(
      async () => {
        const [metrics, list] = await Promise.all([
          api.metrics(cellId, experimentId, undefined, ctx.signal),
          api.cells(experimentId, ctx.signal),
        ]);
        const before = JSON.stringify([series, current]);
        series = metrics.series;
        cells = list.items;
        current = cells.find((c) => c.id === cellId) ?? current;
        await loadSiblings();
        if (ctx.signal.aborted || JSON.stringify([series, current]) === before) return;
        keepingFocus(ctx.root, () => {
          renderSummary();
          renderCharts();
        });
      },
      METRICS_REFRESH_MS,
      ctx.signal,
    );
    let done = false;
    liveNote.textContent = 'Live: the charts follow the cell as it trains.';
    void streamEvents({
      signal: ctx.signal,
      open: (signal) => api.events(experimentId, signal),
      isDone: () => done,
      onEvent: (event) => {
        if (event.event === 'progress') void refresh();
        if (event.event === 'done') {
          done = true;
          void (async () => {
            experiment = await api.experiment(experimentId, ctx.signal);
            await refresh();
            await loadExamples();
            liveNote.textContent = '';
          })().catch(() => {});
        }
      },
      onError: (error) =>
        !(error instanceof ApiError && (error.status === 401 || error.status === 404)),
    });
  };
}
