/**
 * Progress bars on stderr: one line per running task (stage, what it is, bar, count, ETA),
 * redrawn in place on a terminal. Without a terminal (CI, log files) each task prints a line at
 * start, at every further 25%, and at the end.
 */
import type { Progress, ProgressTask } from '@rdlab/pipeline';

interface Running extends ProgressTask {
  done: number;
  startedMs: number;
  note: string;
  lastLoggedQuarter: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

export class TerminalProgress implements Progress {
  private readonly tasks = new Map<string, Running>();
  private drawn = 0;
  private lastDrawMs = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {}

  start(task: ProgressTask): void {
    this.tasks.set(task.id, {
      ...task,
      done: 0,
      startedMs: Date.now(),
      note: '',
      lastLoggedQuarter: 0,
    });
    if (!this.interactive) this.stream.write(`▶ ${task.label} (${task.total} ${task.unit})\n`);
    this.draw(true);
  }

  advance(id: string, amount = 1, note?: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    t.done = Math.min(t.total, t.done + amount);
    if (note !== undefined) t.note = note;
    if (!this.interactive) {
      const quarter = Math.floor((4 * t.done) / Math.max(1, t.total));
      if (quarter > t.lastLoggedQuarter && quarter < 4) {
        t.lastLoggedQuarter = quarter;
        this.stream.write(`  ${t.label}: ${this.line(t, false)}\n`);
      }
    }
    this.draw(false);
  }

  /** Raises a task's total when more work appeared (queued jobs of a running experiment). */
  grow(id: string, total: number): void {
    const t = this.tasks.get(id);
    if (!t || total <= t.total) return;
    t.total = total;
    this.draw(false);
  }

  finish(id: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    this.tasks.delete(id);
    this.clear();
    const seconds = (Date.now() - t.startedMs) / 1000;
    this.stream.write(
      `✓ ${t.label} (${t.done}/${t.total} ${t.unit}, ${duration(seconds)})${t.note ? ` ${t.note}` : ''}\n`,
    );
    this.draw(true);
  }

  log(line: string): void {
    this.clear();
    this.stream.write(`${line}\n`);
    this.draw(true);
  }

  private line(t: Running, bar: boolean): string {
    const fraction = t.total > 0 ? t.done / t.total : 0;
    const elapsed = (Date.now() - t.startedMs) / 1000;
    const eta = t.done > 0 ? (elapsed / t.done) * (t.total - t.done) : Number.POSITIVE_INFINITY;
    const width = 24;
    const filled = Math.round(fraction * width);
    const graphic = bar ? `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ` : '';
    return `${graphic}${t.done}/${t.total} ${t.unit} ${(fraction * 100).toFixed(0)}% ETA ${duration(eta)}${t.note ? `  ${t.note}` : ''}`;
  }

  private clear(): void {
    if (!this.interactive || this.drawn === 0) return;
    this.stream.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(force: boolean): void {
    if (!this.interactive) return;
    const now = Date.now();
    if (!force && now - this.lastDrawMs < 100) return;
    this.lastDrawMs = now;
    this.clear();
    const columns = this.stream.columns ?? 120;
    const lines = [...this.tasks.values()].map((t) =>
      `${t.label.slice(0, 48).padEnd(48)} ${this.line(t, true)}`.slice(0, columns - 1),
    );
    if (lines.length > 0) this.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
