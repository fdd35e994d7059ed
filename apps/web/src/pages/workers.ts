/** Workers (heartbeats, the job each runs) and the queues' job counts, refreshed every 5 s. */
import type { ApiClient } from '../api.js';
import { badge, h, replace } from '../dom.js';
import { ago, dateTime } from '../format.js';
import type { RouteContext } from '../router.js';
import type { QueueCounts, WorkerView } from '../types.js';
import { errorView, every, heading, loading } from './common.js';

const REFRESH_MS = 5000;
const QUEUE_FIELDS: Array<keyof QueueCounts> = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'failed',
  'completed',
  'depth',
];

export function workersPage(api: ApiClient) {
  return async (ctx: RouteContext) => {
    const queuesHost = h('section', { 'aria-labelledby': 'queues-title' }, loading());
    const workersHost = h('section', { 'aria-labelledby': 'workers-title' });
    const updated = h('p', { class: 'help', 'aria-live': 'polite' });
    const refreshButton = h('button', { type: 'button', class: 'btn' }, 'Refresh');
    ctx.root.append(heading('Workers and queues', refreshButton), updated, queuesHost, workersHost);

    const load = async () => {
      const [queues, workers] = await Promise.all([api.queue(), api.workers()]);
      if (ctx.signal.aborted) return;
      replace(queuesHost, h('h2', { id: 'queues-title' }, 'Queues'), queuesTable(queues));
      replace(
        workersHost,
        h('h2', { id: 'workers-title' }, 'Workers'),
        workersTable(workers.items),
      );
      updated.textContent = `Updated ${dateTime(new Date().toISOString())}; refreshes every ${REFRESH_MS / 1000} s.`;
    };
    refreshButton.addEventListener(
      'click',
      () => void load().catch((e) => updated.replaceChildren(errorView(e) ?? '')),
    );
    try {
      await load();
    } catch (error) {
      replace(queuesHost, errorView(error));
      return;
    }
    every(REFRESH_MS, ctx.signal, load);
  };
}

function queuesTable(queues: Record<string, QueueCounts>): HTMLElement {
  const names = Object.keys(queues);
  if (names.length === 0) return h('p', { class: 'muted' }, 'No queues.');
  return h(
    'table',
    { class: 'list compact', id: 'queues' },
    h(
      'caption',
      { class: 'help' },
      'Depth = waiting + prioritized + delayed: the work not started yet.',
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Queue'),
        ...QUEUE_FIELDS.map((f) => h('th', { scope: 'col' }, f)),
      ),
    ),
    h(
      'tbody',
      {},
      ...names.map((name) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('code', {}, name)),
          ...QUEUE_FIELDS.map((f) => h('td', { class: 'num' }, String(queues[name]?.[f] ?? 0))),
        ),
      ),
    ),
  );
}

function workersTable(workers: WorkerView[]): HTMLElement {
  if (workers.length === 0) {
    return h(
      'p',
      { class: 'muted' },
      'No worker has registered. Start one with ',
      h('code', {}, 'npx rdlab up'),
      ' or the worker image.',
    );
  }
  return h(
    'table',
    { class: 'list', id: 'workers' },
    h('caption', { class: 'visually-hidden' }, 'Workers'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Worker', 'Alive', 'Backend', 'Host', 'Current job', 'Started', 'Last heartbeat'].map(
          (t) => h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...workers.map((w) =>
        h(
          'tr',
          { 'data-worker': w.id },
          h('td', {}, h('code', {}, w.id)),
          h(
            'td',
            {},
            w.alive
              ? badge('alive', 'good')
              : badge('silent', 'bad', 'no heartbeat in the last 30 s'),
          ),
          h('td', {}, w.backend),
          h('td', {}, w.hostname),
          h(
            'td',
            {},
            w.currentJob ? h('code', {}, w.currentJob) : h('span', { class: 'muted' }, 'idle'),
          ),
          h(
            'td',
            {},
            h('time', { datetime: w.startedAt, title: dateTime(w.startedAt) }, ago(w.startedAt)),
          ),
          h(
            'td',
            {},
            h(
              'time',
              { datetime: w.lastHeartbeatAt, title: dateTime(w.lastHeartbeatAt) },
              ago(w.lastHeartbeatAt),
            ),
          ),
        ),
      ),
    ),
  );
}
