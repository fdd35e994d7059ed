/**
 * `formatPlan`: a sweep's compute plan as the table a researcher decides on, and the time it takes
 * on W workers.
 *
 * ```ts
 * import { formatPlan, planSweep } from '@rdlab/plan';
 *
 * console.log(formatPlan(planSweep(spec, cells), { workers: [8, 64] }));
 * ```
 */
import { type BackendEstimate, type SweepPlan, thousands } from './plan.js';

const MINUTE_S = 60;
const HOUR_S = 3600;
const DAY_S = 86_400;
const MONTH_S = 30.44 * DAY_S;
const YEAR_S = 365.25 * DAY_S;

/** `0.25 s`, `42 s`, `12 min`, `3 h 20 min`, `2.1 d`, `14 months`, `3.2 years`; `unknown` for null. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  if (seconds < 10) return `${Number(seconds.toPrecision(2))} s`;
  if (seconds < MINUTE_S) return `${Math.round(seconds)} s`;
  if (seconds < HOUR_S) return `${Math.round(seconds / MINUTE_S)} min`;
  if (seconds < DAY_S) {
    const minutes = Math.round(seconds / MINUTE_S);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  if (seconds < 60 * DAY_S) return `${(seconds / DAY_S).toFixed(1)} d`;
  if (seconds < 24 * MONTH_S) return `${Math.round(seconds / MONTH_S)} months`;
  return `${(seconds / YEAR_S).toFixed(1)} years`;
}

/** `3.7e17`. */
function flops(n: number | null): string {
  if (n === null) return 'unknown';
  if (n === 0) return '0';
  return n.toExponential(1).replace('e+', 'e');
}

/** `57.2 GFLOP/s`, `36.3 TFLOP/s`. */
function gflops(flopsPerS: number): string {
  return flopsPerS >= 1e12
    ? `${(flopsPerS / 1e12).toFixed(1)} TFLOP/s`
    : `${(flopsPerS / 1e9).toFixed(1)} GFLOP/s`;
}

/**
 * Seconds on `workers` workers when shards and cells parallelise perfectly and stages run one
 * after another: each stage's time over min(workers, its jobs). A lower bound; null if unknown.
 */
export function secondsOnWorkers(
  plan: SweepPlan,
  estimate: BackendEstimate,
  workers: number,
): number | null {
  let out = 0;
  for (const s of plan.stages) {
    const seconds = estimate.seconds[s.stage];
    if (seconds === null) return null;
    out += s.jobs === 0 ? 0 : seconds / Math.min(workers, s.jobs);
  }
  return out;
}

/** Left-aligned text, right-aligned figures. */
function table(header: string[], rows: string[][], numeric: boolean[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, c) => (numeric[c] ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

export interface FormatPlanOptions {
  /** Worker counts to show the parallel time for. @defaultValue [8] */
  workers?: number[];
}

const ROLE_LABEL = { behavior: 'behaviour β', target: 'target π', reward: 'reward R' } as const;

/** The plan as text: models, work, a stage × backend table of times, sources and assumptions. */
export function formatPlan(plan: SweepPlan, options: FormatPlanOptions = {}): string {
  const workers = options.workers ?? [8];
  const out: string[] = [];
  const s = (n: number, what: string) => `${thousands(n)} ${what}${n === 1 ? '' : 's'}`;
  out.push(
    `${plan.name}: ${s(plan.cells, 'cell')} over ${s(plan.datasets, 'dataset')} and ${s(plan.attributes, 'attribute')}`,
    '',
  );
  out.push(
    ...table(
      ['model', 'name', 'parameters', 'size from'],
      plan.models.map((m) => [
        ROLE_LABEL[m.role],
        m.name,
        m.parameters === null ? 'unknown' : thousands(m.parameters),
        m.source,
      ]),
      [false, false, true, false],
    ),
    '',
  );
  const perCell = plan.cells === 0 ? 0 : plan.trainingSteps / plan.cells;
  out.push(
    ...table(
      ['work', 'count', 'detail'],
      [
        ['behaviour samples', thousands(plan.samples), `in ${s(plan.shards, 'shard')}`],
        [
          'training steps',
          thousands(plan.trainingSteps),
          `${thousands(perCell)} per cell; ${thousands(plan.trainingTokens)} tokens`,
        ],
        [
          'evaluations',
          thousands(plan.evaluations),
          `${plan.cells === 0 ? 0 : plan.evaluations / plan.cells} per cell`,
        ],
      ],
      [false, true, false],
    ),
    '',
  );
  const lowerMark = (lower: boolean, text: string) =>
    lower && text !== 'unknown' ? `≥ ${text}` : text;
  const header = [
    'stage',
    'jobs',
    'FLOPs',
    ...plan.estimates.map((e) => (e.reference ? `${e.backend} (ref.)` : e.backend)),
  ];
  const rows = plan.stages.map((st) => [
    st.stage,
    thousands(st.jobs),
    lowerMark(st.lowerBound, flops(st.flops)),
    ...plan.estimates.map((e) => lowerMark(st.lowerBound, formatDuration(e.seconds[st.stage]))),
  ]);
  const known = plan.stages.every((st) => st.flops !== null);
  const allFlops = plan.stages.reduce((a, st) => a + (st.flops ?? 0), 0);
  rows.push([
    'total',
    '',
    lowerMark(plan.stages.some((st) => st.lowerBound) || !known, flops(allFlops)),
    ...plan.estimates.map((e) =>
      e.totalSeconds === null
        ? `≥ ${formatDuration(Object.values(e.seconds).reduce<number>((a, v) => a + (v ?? 0), 0))}`
        : lowerMark(e.lowerBound, formatDuration(e.totalSeconds)),
    ),
  ]);
  for (const w of workers) {
    rows.push([
      `on ${w} workers`,
      '',
      '',
      ...plan.estimates.map((e) => `≥ ${formatDuration(secondsOnWorkers(plan, e, w))}`),
    ]);
  }
  out.push(
    ...table(
      header,
      rows,
      header.map((_, c) => c > 0),
    ),
  );
  out.push(
    '',
    `On W workers: each stage's time over min(W, its jobs), as if shards and cells parallelised perfectly: a lower bound.${known ? '' : ' A total marked ≥ leaves out the stages of unknown size.'}`,
    '',
    'Stages:',
  );
  for (const st of plan.stages) if (st.note) out.push(`  ${st.stage}: ${st.note}`);
  if (plan.memory.length > 0) {
    const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
    out.push(
      '',
      ...table(
        ['memory per worker', 'engine', 'total', 'β', 'π weights', 'π grads+Adam', 'activations'],
        plan.memory.map((m) => [
          m.target,
          m.engine,
          m.runs ? gib(m.bytes) : 'does not run',
          gib(m.behavior),
          gib(m.targetWeights),
          gib(m.targetTrainingState),
          gib(m.activations),
        ]),
        [false, false, true, true, true, true, true],
      ),
    );
  }
  if (plan.problems.length > 0) {
    out.push('', 'Refused:');
    for (const p of plan.problems) out.push(`  ${p.path}: ${p.message}`);
  }
  out.push('', 'Throughputs (packages/plan/src/throughputs.json):');
  for (const e of plan.estimates)
    out.push(
      `  ${e.backend}${e.reference ? ' (reference, not an rdlab engine)' : ''}: training ${gflops(e.trainFlopsPerS)}, sampling ${gflops(e.decodeFlopsPerS)}; measured ${e.measuredOn} on ${e.machine}`,
    );
  if (plan.assumptions.length > 0) {
    out.push('', 'Assumptions:');
    for (const a of plan.assumptions) out.push(`  - ${a}`);
  }
  return out.join('\n');
}
