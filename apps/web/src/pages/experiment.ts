/**
 * One experiment: its status (live over SSE, no reload), progress by stage, ETA, the cancel
 * button, the Table-1 grid (from the report once it exists, from the cells' latest evaluations
 * while it runs), the Pareto scatter per dataset/attribute and target, and every cell.
 */
import { stringify } from 'yaml';
import { type ApiClient, ApiError } from '../api.js';
import type { Chart } from '../charts/chart.js';
import { paretoChart } from '../charts/scatter.js';
import { downloadText } from '../csv.js';
import { h, keepingFocus, notice, replace } from '../dom.js';
import { ago, dateTime } from '../format.js';
import { type Grid, gridFromCells, gridFromReport, scatterPanels } from '../grid.js';
import type { RouteContext } from '../router.js';
import { streamEvents } from '../sse.js';
import {
  type CellSummary,
  type ExperimentDetail,
  isFinished,
  type Progress,
  type Results,
} from '../types.js';
import { errorView, heading, loading, statusBadge, throttle } from './common.js';
import { cellsView, progressView } from './experiment-views.js';
import { gridView } from './grid-view.js';

/** Cells are fetched at most this often while progress events arrive. */
const CELLS_REFRESH_MS = 1500;

export function experimentPage(api: ApiClient) {
  return async (ctx: RouteContext) => {
    const id = ctx.params.id as string;
    ctx.root.append(loading('Loading the experiment…'));
    let experiment: ExperimentDetail;
    let cells: CellSummary[];
    try {
      [experiment, cells] = await Promise.all([
        api.experiment(id),
        api.cells(id).then((c) => c.items),
      ]);
    } catch (error) {
      if (ctx.signal.aborted) return;
      replace(ctx.root, heading('Experiment'), errorView(error) ?? '');
      return;
    }
    if (ctx.signal.aborted) return;
    let results: Results | null = null;
    let resultsNote: string | null = null;
    const epochs =
      typeof experiment.spec?.training?.epochs === 'number'
        ? experiment.spec.training.epochs
        : null;

    // ─── The parts of the page ───────────────────────────────────────────────
    const statusHost = h('span', {
      id: 'experiment-status',
      'aria-live': 'polite',
      'aria-atomic': 'true',
    });
    const meta = h('dl', { class: 'meta' });
    const errorHost = h('div', {});
    const actions = h('div', { class: 'actions' });
    const reportHost = h('div', { class: 'report' });
    const progressHost = h('section', { 'aria-labelledby': 'progress-title' });
    const gridHost = h('section', { 'aria-labelledby': 'grid-title' });
    const scatterHost = h('div', { class: 'charts' });
    const cellsHost = h('section', { 'aria-labelledby': 'cells-title' });
    const liveNote = h('p', { class: 'help', id: 'live-note', 'aria-live': 'polite' });
    let charts: Chart[] = [];

    replace(
      ctx.root,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '/' }, 'Experiments'),
        ' / ',
        experiment.name,
      ),
      heading(experiment.name, statusHost),
      meta,
      errorHost,
      actions,
      reportHost,
      liveNote,
      progressHost,
      gridHost,
      h(
        'section',
        { 'aria-labelledby': 'pareto-title' },
        h('h2', { id: 'pareto-title' }, 'Pareto front: Acc against Reward'),
        scatterHost,
      ),
      cellsHost,
      h(
        'details',
        { class: 'spec' },
        h('summary', {}, 'Spec (validated, defaults filled in)'),
        h('pre', {}, h('code', {}, stringify(experiment.spec ?? {}))),
      ),
    );

    const renderHeader = () => {
      replace(statusHost, statusBadge(experiment.status));
      replace(
        meta,
        h('dt', {}, 'Id'),
        h('dd', {}, h('code', {}, experiment.id)),
        h('dt', {}, 'Created'),
        h(
          'dd',
          {},
          h(
            'time',
            { datetime: experiment.createdAt, title: dateTime(experiment.createdAt) },
            ago(experiment.createdAt),
          ),
        ),
        h('dt', {}, 'Started'),
        h(
          'dd',
          {},
          experiment.startedAt
            ? h(
                'time',
                { datetime: experiment.startedAt, title: dateTime(experiment.startedAt) },
                ago(experiment.startedAt),
              )
            : '–',
        ),
        h('dt', {}, 'Finished'),
        h(
          'dd',
          {},
          experiment.finishedAt
            ? h(
                'time',
                { datetime: experiment.finishedAt, title: dateTime(experiment.finishedAt) },
                ago(experiment.finishedAt),
              )
            : '–',
        ),
        h('dt', {}, 'Cells'),
        h('dd', {}, String(experiment.cellCount)),
      );
      replace(errorHost, experiment.error ? notice('error', experiment.error) : null);
      renderActions();
    };

    const renderActions = () => {
      const buttons: Node[] = [];
      if (!isFinished(experiment.status)) {
        buttons.push(
          h(
            'button',
            { type: 'button', class: 'btn btn-danger', id: 'cancel', onclick: () => void cancel() },
            'Cancel experiment',
          ),
        );
      }
      if (results) {
        buttons.push(
          h(
            'button',
            { type: 'button', class: 'btn', onclick: () => void download('csv') },
            'Results CSV',
          ),
          h(
            'button',
            { type: 'button', class: 'btn', onclick: () => void download('json') },
            'Results JSON',
          ),
          h(
            'button',
            { type: 'button', class: 'btn', onclick: () => void openReport() },
            'HTML report',
          ),
        );
      }
      replace(actions, ...buttons);
    };

    const renderProgress = (progress: Progress) =>
      replace(progressHost, ...progressView(progress, experiment.cellCount));

    const renderResults = () => {
      for (const chart of charts) chart.destroy();
      charts = [];
      let grid: Grid;
      if (results) grid = gridFromReport(results.report, cells);
      else grid = gridFromCells(cells);
      replace(
        gridHost,
        h('h2', { id: 'grid-title' }, 'Acc + Reward (Table 1)'),
        resultsNote ? h('p', { class: 'help' }, resultsNote) : null,
        grid.rows.length
          ? gridView(grid, experiment.id, epochs)
          : h('p', { class: 'muted' }, 'No cells yet.'),
      );
      const panels = scatterPanels(grid);
      scatterHost.replaceChildren();
      if (panels.length === 0) {
        scatterHost.append(
          h('p', { class: 'muted' }, 'The scatter appears with the first evaluations.'),
        );
      }
      for (const panel of panels) charts.push(paretoChart(panel).mount(scatterHost));
      renderCells();
    };

    const renderCells = () => replace(cellsHost, ...cellsView(cells, experiment.id, epochs));

    const loadResults = async () => {
      if (!isFinished(experiment.status)) return;
      try {
        results = await api.results(experiment.id);
        resultsNote = null;
      } catch (error) {
        if (error instanceof ApiError && error.code === 'RDLAB_RESULTS_NOT_READY') {
          results = null;
          resultsNote = `No report: ${error.message}. The table shows each cell’s latest evaluation.`;
        } else throw error;
      }
    };

    let shownCells = JSON.stringify(cells);
    const refreshCells = throttle(
      async () => {
        cells = (await api.cells(id, ctx.signal)).items;
        const now = JSON.stringify(cells);
        if (ctx.signal.aborted || now === shownCells) return;
        shownCells = now;
        keepingFocus(ctx.root, renderResults);
      },
      CELLS_REFRESH_MS,
      ctx.signal,
    );

    const cancel = async () => {
      if (
        !window.confirm(
          `Cancel “${experiment.name}”? Jobs not started are removed and running ones stop within a step; what is stored stays.`,
        )
      )
        return;
      const button = actions.querySelector<HTMLButtonElement>('#cancel');
      if (button) button.disabled = true;
      try {
        const updated = await api.cancel(experiment.id);
        experiment = { ...experiment, ...updated };
        renderHeader();
        void finish();
      } catch (error) {
        actions.append(errorView(error) ?? '');
        if (button) button.disabled = false;
      }
    };

    const download = async (format: 'csv' | 'json') => {
      try {
        if (format === 'csv')
          downloadText(await api.resultsCsv(experiment.id), `${experiment.id}-results.csv`);
        else
          downloadText(
            JSON.stringify(results, null, 2),
            `${experiment.id}-results.json`,
            'application/json',
          );
      } catch (error) {
        actions.append(errorView(error) ?? '');
      }
    };

    const openReport = async () => {
      if (reportHost.childElementCount) {
        reportHost.replaceChildren();
        return;
      }
      try {
        // The report needs the token, so it is fetched here. It is shown in a sandboxed frame
        // (no scripts, an origin of its own): never as a page of this origin, where the token is.
        const html = await api.reportHtml(experiment.id);
        reportHost.replaceChildren(
          h(
            'div',
            { class: 'chart-actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small',
                onclick: () =>
                  downloadText(html, `${experiment.id}-report.html`, 'text/html;charset=utf-8'),
              },
              'Download report.html',
            ),
          ),
          h('iframe', {
            sandbox: '',
            srcdoc: html,
            title: `Report of ${experiment.name}`,
            class: 'report-frame',
          }),
        );
      } catch (error) {
        actions.append(errorView(error) ?? '');
      }
    };

    /**
     * The experiment finished (or was cancelled here): its final state, results and cells. Runs
     * again on `done` after a cancel: a progress event from before the cancel may come between.
     */
    const finish = () =>
      (async () => {
        experiment = await api.experiment(id, ctx.signal);
        cells = (await api.cells(id, ctx.signal)).items;
        await loadResults();
        if (ctx.signal.aborted) return;
        shownCells = JSON.stringify(cells);
        keepingFocus(ctx.root, () => {
          renderHeader();
          renderProgress(experiment.progress);
          renderResults();
        });
        liveNote.textContent = '';
      })().catch((error) => {
        if (!ctx.signal.aborted) errorHost.append(errorView(error) ?? '');
      });

    renderHeader();
    renderProgress(experiment.progress);
    try {
      await loadResults();
    } catch (error) {
      errorHost.append(errorView(error) ?? '');
    }
    renderResults();
    renderActions();
    if (isFinished(experiment.status)) return;

    // ─── Live: progress events until `done` ──────────────────────────────────
    let done = false;
    liveNote.textContent = 'Live: this page follows the experiment as it runs.';
    void streamEvents({
      signal: ctx.signal,
      open: (signal) => api.events(id, signal),
      isDone: () => done,
      onEvent: (event) => {
        if (event.event === 'progress') {
          const progress = JSON.parse(event.data) as Progress;
          experiment = { ...experiment, status: progress.status, progress };
          keepingFocus(ctx.root, () => {
            renderHeader();
            renderProgress(progress);
          });
          void refreshCells();
        } else if (event.event === 'done') {
          done = true;
          void finish();
        } else if (event.event === 'error') {
          const body = JSON.parse(event.data) as { error?: { message?: string } };
          liveNote.textContent = `The event stream failed (${body.error?.message ?? 'unknown error'}); reconnecting…`;
        }
      },
      onError: (error) => {
        if (error instanceof ApiError && (error.status === 401 || error.status === 404))
          return false;
        liveNote.textContent = 'Lost the connection to the API; reconnecting…';
        return true;
      },
    });
  };
}
