/** Pieces every page uses: its heading, errors, status badges, the throttled refresher. */
import { ApiError } from '../api.js';
import { badge, h, notice } from '../dom.js';
import type { CellStatus, ExperimentStatus } from '../types.js';

/** The page's `<h1>` (focusable, so navigation can move focus to it) and the tab title. */
export function heading(text: string, ...extra: Node[]): HTMLElement {
  document.title = `${text} · rdlab`;
  return h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, text), ...extra);
}

export function loading(what = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, what);
}

/** An error as the page shows it; a 401 shows nothing (the app went to the token page). */
export function errorView(error: unknown): HTMLElement | null {
  if (error instanceof ApiError && error.status === 401) return null;
  if ((error as Error)?.name === 'AbortError') return null;
  if (error instanceof ApiError) {
    return notice('error', h('strong', {}, error.code), ': ', error.message);
  }
  return notice('error', String((error as Error)?.message ?? error));
}

const STATUS_KIND: Record<ExperimentStatus | CellStatus, string> = {
  queued: 'neutral',
  pending: 'neutral',
  running: 'info',
  succeeded: 'good',
  failed: 'bad',
  cancelled: 'muted',
  partial: 'warn',
};

export function statusBadge(status: ExperimentStatus | CellStatus): HTMLSpanElement {
  const el = badge(status, STATUS_KIND[status] ?? 'neutral');
  el.dataset.status = status;
  return el;
}

/**
 * Runs `task` at most once per `intervalMs`, and once more after a call that came meanwhile:
 * live events can arrive every second, the cells need not be fetched that often.
 */
export function throttle(task: () => Promise<void>, intervalMs: number, signal: AbortSignal) {
  let running = false;
  let again = false;
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  const run = async (): Promise<void> => {
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    const wait = last + intervalMs - Date.now();
    if (wait > 0) {
      if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          void run();
        }, wait);
      }
      return;
    }
    running = true;
    last = Date.now();
    try {
      await task();
    } catch (error) {
      if (!signal.aborted) console.warn(error);
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      void run();
    }
  };
  return run;
}

/** Repeats `task` every `intervalMs` until the signal aborts (the first run is the caller's). */
export function every(intervalMs: number, signal: AbortSignal, task: () => Promise<void>): void {
  const tick = async () => {
    if (signal.aborted) return;
    try {
      await task();
    } catch (error) {
      if (!signal.aborted) console.warn(error);
    }
    if (!signal.aborted) timer = setTimeout(tick, intervalMs);
  };
  let timer = setTimeout(tick, intervalMs);
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
}

/** `e3f9a0c1d2e4b5a69` shortened for tables, whole in the title. */
export function shortId(id: string): HTMLElement {
  return h('code', { title: id }, id.length > 10 ? `${id.slice(0, 9)}…` : id);
}
