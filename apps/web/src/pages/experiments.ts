/**
 * The experiments of the team, newest first: name, status, progress (cells done and the stages'
 * jobs), ETA, created. Live rows (queued, running) refresh every few seconds.
 */
import type { ApiClient } from '../api.js';
import { h, replace } from '../dom.js';
import { ago, dateTime, duration } from '../format.js';
import { cellsDone, stagesLine } from '../progress.js';
import type { RouteContext } from '../router.js';
import {
  type Experiment,
  type ExperimentDetail,
  type ExperimentStatus,
  isFinished,
} from '../types.js';
import { errorView, every, heading, loading, shortId, statusBadge } from './common.js';

const PAGE_SIZE = 20;
const REFRESH_MS = 4000;
const STATUSES: ExperimentStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'partial',
];

export function experimentsPage(api: ApiClient) {
  return async (ctx: RouteContext) => {
    const status = (ctx.query.get('status') ?? '') as ExperimentStatus | '';
    const filter = h(
      'select',
      { id: 'status-filter', 'aria-label': 'Show experiments with status' },
      h('option', { value: '' }, 'All statuses'),
      ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
    );
    filter.addEventListener('change', () =>
      ctx.go(filter.value ? `/?status=${encodeURIComponent(filter.value)}` : '/'),
    );
    const body = h('div', {}, loading('Loading experiments…'));
    ctx.root.append(
      heading('Experiments', h('a', { class: 'btn btn-primary', href: '/submit' }, 'New sweep')),
      h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Status '), filter),
      body,
    );

    const rows = new Map<string, HTMLTableRowElement>();
    const details = new Map<string, ExperimentDetail>();
    const tbody = h('tbody', {});
    const table = h(
      'table',
      { class: 'list', id: 'experiments' },
      h('caption', { class: 'visually-hidden' }, 'Experiments, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Status', 'Progress', 'ETA', 'Created', 'Id'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      tbody,
    );
    const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Older experiments');
    let cursor: string | null = null;

    const renderRow = (e: Experiment) => {
      const d = details.get(e.id);
      const progress = d?.progress;
      const total = e.cellCount;
      const done = progress ? cellsDone(progress) : isFinished(e.status) ? total : 0;
      const cells = h(
        'td',
        { class: 'progress-cell' },
        h('progress', {
          max: Math.max(1, total),
          value: done,
          'aria-label': `${done} of ${total} cells done`,
        }),
        h('span', { class: 'muted' }, ` ${done}/${total} cells`),
        progress && !isFinished(e.status)
          ? h('div', { class: 'stages small' }, stagesLine(progress))
          : null,
      );
      const eta = isFinished(e.status) ? '–' : duration(progress?.etaSeconds ?? null);
      const row = h(
        'tr',
        { 'data-id': e.id },
        h('td', {}, h('a', { href: `/experiments/${e.id}` }, e.name)),
        h(
          'td',
          {},
          statusBadge(e.status),
          e.error ? h('div', { class: 'small bad-text' }, e.error) : null,
        ),
        cells,
        h('td', {}, eta),
        h(
          'td',
          {},
          h('time', { datetime: e.createdAt, title: dateTime(e.createdAt) }, ago(e.createdAt)),
        ),
        h('td', {}, shortId(e.id)),
      );
      const old = rows.get(e.id);
      if (!old) {
        tbody.append(row);
        rows.set(e.id, row);
      } else if (old.childElementCount === 0) {
        old.replaceWith(row);
        rows.set(e.id, row);
      } else {
        // In place, past the name: its link keeps the focus of a keyboard user.
        const fresh = [...row.children];
        [...old.children].forEach((td, i) => {
          if (i > 0 && fresh[i] && td.textContent !== fresh[i].textContent)
            td.replaceWith(fresh[i]);
        });
      }
    };

    const loadPage = async () => {
      const page = await api.experiments({ limit: PAGE_SIZE, cursor, status });
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      await Promise.all(
        page.items
          .filter((e) => !isFinished(e.status))
          .map(async (e) => details.set(e.id, await api.experiment(e.id))),
      );
      for (const e of page.items) renderRow(e);
      return page.items.length;
    };

    try {
      const count = await loadPage();
      if (ctx.signal.aborted) return;
      if (count === 0) {
        replace(
          body,
          h(
            'div',
            { class: 'empty' },
            h('p', {}, status ? `No ${status} experiments.` : 'No experiments yet.'),
            h(
              'p',
              {},
              'Submit a sweep spec on the ',
              h('a', { href: '/submit' }, 'New sweep'),
              ' page, or from a terminal: ',
              h('code', {}, 'npx rdlab submit examples/demo.yaml --watch'),
              '.',
            ),
          ),
        );
      } else {
        replace(body, table, more);
      }
    } catch (error) {
      replace(body, errorView(error));
      return;
    }
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        await loadPage();
      } catch (error) {
        body.append(errorView(error) ?? '');
      } finally {
        more.disabled = false;
      }
    });

    // Live rows: their progress; new experiments appear on top.
    every(REFRESH_MS, ctx.signal, async () => {
      const first = await api.experiments({ limit: PAGE_SIZE, status });
      if (ctx.signal.aborted) return;
      for (const e of [...first.items].reverse()) {
        if (!rows.has(e.id)) {
          if (tbody.childElementCount === 0) replace(body, table, more);
          const placeholder = h('tr', {});
          tbody.prepend(placeholder);
          rows.set(e.id, placeholder);
        }
      }
      await Promise.all(
        first.items.map(async (e) => {
          if (!isFinished(e.status)) details.set(e.id, await api.experiment(e.id));
          renderRow(e);
        }),
      );
    });
  };
}
