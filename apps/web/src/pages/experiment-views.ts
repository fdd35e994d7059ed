/** Parts of the experiment page that only draw what they are given: progress and the cells. */
import { h } from '../dom.js';
import { duration, num } from '../format.js';
import { cellsDone, stageTotal } from '../progress.js';
import { type CellSummary, isFinished, type Progress, STAGE_KINDS } from '../types.js';
import { shortId, statusBadge } from './common.js';

/** The heading, cells done with the ETA, and a table of stage jobs by state. */
export function progressView(progress: Progress, cellCount: number): HTMLElement[] {
  const done = cellsDone(progress);
  const rows = STAGE_KINDS.map((kind) => {
    const s = progress.stages[kind];
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, kind),
      h('td', {}, String(s.waiting)),
      h('td', {}, String(s.active)),
      h('td', {}, String(s.completed)),
      h('td', {}, String(s.failed)),
      h('td', {}, String(s.cancelled)),
      h(
        'td',
        {},
        h('progress', {
          max: Math.max(1, stageTotal(s)),
          value: s.completed,
          'aria-label': `${kind}: ${s.completed} of ${stageTotal(s)} jobs completed`,
        }),
      ),
    );
  });
  const c = progress.cells;
  return [
    h('h2', { id: 'progress-title' }, 'Progress'),
    h(
      'p',
      { id: 'progress-summary' },
      h('progress', {
        max: Math.max(1, cellCount),
        value: done,
        'aria-label': `${done} of ${cellCount} cells done`,
      }),
      ` ${done}/${cellCount} cells done (${c.succeeded} succeeded, ${c.running} running, ${c.pending} pending${c.failed ? `, ${c.failed} failed` : ''}${c.cancelled ? `, ${c.cancelled} cancelled` : ''}) · ETA `,
      h('strong', { id: 'eta' }, isFinished(progress.status) ? '–' : duration(progress.etaSeconds)),
    ),
    h(
      'table',
      { class: 'list compact' },
      h('caption', { class: 'visually-hidden' }, 'Stage jobs by state'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Stage', 'Waiting', 'Active', 'Completed', 'Failed', 'Cancelled', ''].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  ];
}

/** Every cell: coordinates, status, epochs, start and latest Acc and Reward, a link to its page. */
export function cellsView(
  cells: readonly CellSummary[],
  experimentId: string,
  epochs: number | null,
): HTMLElement[] {
  return [
    h('h2', { id: 'cells-title' }, 'Cells'),
    h(
      'table',
      { class: 'list', id: 'cells' },
      h('caption', { class: 'visually-hidden' }, 'Cells of the experiment'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'Cell',
            'Dataset/attribute',
            'Target',
            'Dropout',
            'Seed',
            'Status',
            'Epochs',
            'Start Acc',
            'Start Reward',
            'Latest Acc',
            'Latest Reward',
          ].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...[...cells]
          .sort((a, b) => a.index - b.index)
          .map((c) =>
            h(
              'tr',
              { 'data-cell': c.id },
              h(
                'td',
                {},
                h('a', { href: `/cells/${c.id}?experiment=${experimentId}` }, shortId(c.id)),
              ),
              h('td', {}, `${c.dataset}/${c.attribute}`),
              h('td', {}, c.target),
              h('td', {}, c.dropoutLabel),
              h('td', {}, String(c.seed)),
              h('td', {}, statusBadge(c.status)),
              h('td', {}, epochs ? `${c.epochsDone}/${epochs}` : String(c.epochsDone)),
              h('td', { class: 'num' }, num(c.start?.acc)),
              h('td', { class: 'num' }, num(c.start?.reward)),
              h('td', { class: 'num' }, num(c.latest?.acc)),
              h('td', { class: 'num' }, num(c.latest?.reward)),
            ),
          ),
      ),
    ),
  ];
}
