/** How numbers, durations and times read on the dashboard. Pure. */
import type { Stat } from './types.js';

/** `0.412`; `0.00577` below 0.01 (three significant digits); `–` for a missing value. */
export function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value !== 0 && Math.abs(value) < 10 ** -(digits - 1)) return value.toPrecision(digits);
  return value.toFixed(digits);
}

/** `0.412 ± 0.013` over seeds, or `0.412` with one seed. */
export function stat(s: Stat | null | undefined, digits = 3): string {
  if (!s) return '–';
  return s.sd > 0 ? `${num(s.mean, digits)} ± ${num(s.sd, digits)}` : num(s.mean, digits);
}

/** `0.4 s`, `45 s`, `3 min 20 s`, `2 h 5 min`; `–` when unknown. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds <= 0) return '0 s';
  if (seconds < 0.1) return '< 0.1 s';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago` (relative to `now`). */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '–';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '–';
  const s = Math.round((now - then) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** `2024-06-01 14:03:22` in local time, for titles. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `3,000,000`. */
export function thousands(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `1.2 TFLOP`, `340 GFLOP`. */
export function flops(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toPrecision(2)} ${units[i]}FLOP`;
}

/** Verdict slugs as words. */
export function verdictText(verdict: string): string {
  switch (verdict) {
    case 'pareto-improvement':
      return 'Pareto improvement';
    case 'dominated':
      return 'dominated';
    case 'trade-off':
      return 'trade-off';
    case 'no-difference':
      return 'no difference';
    default:
      return verdict;
  }
}
