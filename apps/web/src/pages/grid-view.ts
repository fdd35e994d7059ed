/**
 * The Table-1 grid on the page: rows target × dropout after a `start` row per target, columns
 * dataset/attribute; each cell Acc + Reward with Acc and Reward beneath, verdict badges against
 * the start and against `none` (once the report exists), the front and degeneration marks, and
 * links to the cells of each seed.
 */
import { downloadText, toCsv } from '../csv.js';
import { badge, h } from '../dom.js';
import { stat, verdictText } from '../format.js';
import { GRID_CSV_HEADER, type Grid, type GridCell, type GridRow, gridRows } from '../grid.js';
import type { Verdict } from '../types.js';
import { statusBadge } from './common.js';

const VERDICT_KIND: Record<Verdict, string> = {
  'pareto-improvement': 'good',
  dominated: 'bad',
  'trade-off': 'warn',
  'no-difference': 'neutral',
};

const VERDICT_HELP =
  '95% paired bootstrap intervals over the held-out prefixes: an improvement raises Acc or Reward and lowers neither';

export function verdictBadge(against: string, verdict: Verdict): HTMLSpanElement {
  return badge(
    `vs ${against}: ${verdictText(verdict)}`,
    VERDICT_KIND[verdict] ?? 'neutral',
    VERDICT_HELP,
  );
}

export function gridView(grid: Grid, experimentId: string, epochs: number | null): HTMLElement {
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Target'),
    h('th', { scope: 'col' }, 'Dropout'),
    ...grid.columns.map((c) => h('th', { scope: 'col' }, c)),
  );
  const body = h('tbody', {});
  for (const row of grid.rows) {
    body.append(
      h(
        'tr',
        { class: row.start ? 'start-row' : '', 'data-row': `${row.target}/${row.dropoutLabel}` },
        h('td', {}, row.target),
        h(
          'th',
          { scope: 'row' },
          row.start
            ? h('span', { title: 'the target before training (epoch 0)' }, 'start')
            : row.dropoutLabel,
        ),
        ...row.cells.map((cell, c) =>
          h(
            'td',
            { 'data-column': grid.columns[c] ?? '' },
            cell ? cellView(row, cell, experimentId, epochs) : '–',
          ),
        ),
      ),
    );
  }
  const note =
    grid.source === 'report'
      ? 'From the report: mean ± sd over seeds after the last epoch; verdicts from paired bootstrap intervals.'
      : 'Latest evaluation of each cell while the experiment runs (mean over seeds). Verdicts appear once the report exists.';
  return h(
    'div',
    { class: 'grid-wrap' },
    h(
      'p',
      { class: 'help' },
      'Rows: target × dropout, each target after its start row (before training). Columns: dataset/attribute. Each cell: Acc + Reward, then Acc and Reward.',
    ),
    h(
      'table',
      { class: 'grid', id: 'table1' },
      h(
        'caption',
        { class: 'visually-hidden' },
        'Acc + Reward by target × dropout (rows) and dataset/attribute (columns), laid out like the paper’s Table 1',
      ),
      h('thead', {}, head),
      body,
    ),
    h(
      'div',
      { class: 'chart-actions' },
      h('p', { class: 'help' }, note),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'aria-label': 'Download the table as CSV',
          onclick: () =>
            downloadText(toCsv(GRID_CSV_HEADER, gridRows(grid)), `${experimentId}-table1.csv`),
        },
        'CSV',
      ),
    ),
  );
}

function cellView(
  row: GridRow,
  cell: GridCell,
  experimentId: string,
  epochs: number | null,
): HTMLElement {
  const out = h('div', { class: 'gcell' });
  if (cell.accPlusReward) {
    out.append(
      h('div', { class: 'sum', title: 'Acc + Reward' }, stat(cell.accPlusReward)),
      h('div', { class: 'parts' }, `Acc ${stat(cell.acc)} · Reward ${stat(cell.reward)}`),
    );
  } else {
    out.append(
      h('div', { class: 'sum muted' }, row.start ? 'not evaluated yet' : 'no evaluation yet'),
    );
  }
  const badges = h('div', { class: 'badges' });
  if (cell.versusStart) badges.append(verdictBadge('start', cell.versusStart));
  if (cell.versusNone) badges.append(verdictBadge('none', cell.versusNone));
  if (cell.paretoOptimal)
    badges.append(
      badge(
        '★ Pareto front',
        'front',
        'not dominated by another dropout of this target and column',
      ),
    );
  if (cell.degenerated)
    badges.append(badge('⚠ degenerated', 'bad', 'final Acc below half of the start’s'));
  if (badges.childElementCount) out.append(badges);
  if (!row.start && cell.members.length) {
    const live = cell.members.some((m) => m.status !== 'succeeded');
    out.append(
      h(
        'div',
        { class: 'members small' },
        ...cell.members.map((m) =>
          h(
            'span',
            { class: 'member' },
            h(
              'a',
              {
                href: `/cells/${m.id}?experiment=${experimentId}`,
                'aria-label': `cell ${m.id}, ${row.dropoutLabel}, seed ${m.seed}`,
              },
              cell.members.length > 1 ? `seed ${m.seed}` : 'cell',
            ),
            live ? ' ' : null,
            live ? statusBadge(m.status) : null,
            live && epochs
              ? h('span', { class: 'muted' }, ` epoch ${m.epochsDone}/${epochs}`)
              : null,
          ),
        ),
      ),
    );
  }
  return out;
}
