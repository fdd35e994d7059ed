/**
 * The table of measured throughputs `planSweep` estimates from (`throughputs.json`): per backend,
 * the FLOP/s achieved on a training step and in KV-cached sampling, each with the date, machine
 * and command it came from. Refresh the measured rows with `packages/pipeline/bench/throughputs.ts` (README,
 * "Refreshing the throughput table").
 *
 * ```ts
 * import { THROUGHPUTS } from '@rdlab/plan';
 *
 * const native = THROUGHPUTS.find((t) => t.backend === 'native');
 * console.log(native?.trainFlops.flopsPerS, native?.trainFlops.measuredOn);
 * ```
 */
import table from './throughputs.json' with { type: 'json' };

/** One measured rate, with where and when it was measured. */
export interface Measurement {
  /** Achieved FLOP/s under the cost model of `plan.ts` (6·N per trained token, 2·N per forward or generated token). */
  flopsPerS: number;
  /** `YYYY-MM-DD`. */
  measuredOn: string;
  machine: string;
  /** The command or script, and the raw figure it gave. */
  how: string;
}

/** One backend's rates. */
export interface Throughput {
  backend: string;
  /** A figure from other software, for comparison: not an rdlab engine (yet). */
  reference: boolean;
  /** FLOP/s achieved on a training step. */
  trainFlops: Measurement;
  /** FLOP/s achieved in KV-cached batched sampling. */
  decodeFlops: Measurement;
  note?: string;
}

/** The stored table. */
export const THROUGHPUTS: readonly Throughput[] = table.backends;

/**
 * Rows measured elsewhere (the CUDA device check's `throughputs-cuda.json`): one row, an array of
 * rows, or a table `{ backends: [...] }`, each checked. Throws naming the row and field.
 */
export function parseThroughputRows(json: unknown, source: string): Throughput[] {
  const rows = Array.isArray(json)
    ? json
    : json && typeof json === 'object' && Array.isArray((json as { backends?: unknown }).backends)
      ? (json as { backends: unknown[] }).backends
      : [json];
  return rows.map((row, i) => {
    const where = `${source}: row ${i}`;
    const r = row as Record<string, unknown> | null;
    if (!r || typeof r !== 'object') throw new Error(`${where} is not an object`);
    if (typeof r.backend !== 'string' || r.backend === '')
      throw new Error(`${where}: 'backend' must be a non-empty string`);
    const measurement = (field: string): Measurement => {
      const m = r[field] as Record<string, unknown> | undefined;
      if (!m || typeof m !== 'object') throw new Error(`${where}: '${field}' is missing`);
      if (typeof m.flopsPerS !== 'number' || !(m.flopsPerS > 0))
        throw new Error(`${where}: '${field}.flopsPerS' must be a number > 0`);
      for (const key of ['measuredOn', 'machine', 'how'])
        if (typeof m[key] !== 'string')
          throw new Error(`${where}: '${field}.${key}' must be a string`);
      return {
        flopsPerS: m.flopsPerS,
        measuredOn: m.measuredOn as string,
        machine: m.machine as string,
        how: m.how as string,
      };
    };
    return {
      backend: r.backend,
      reference: r.reference === true,
      trainFlops: measurement('trainFlops'),
      decodeFlops: measurement('decodeFlops'),
      ...(typeof r.note === 'string' ? { note: r.note } : {}),
    };
  });
}

/** `table` with `rows` added, a row replacing the table's row of the same backend. */
export function withThroughputs(
  table: readonly Throughput[],
  rows: readonly Throughput[],
): Throughput[] {
  const names = new Set(rows.map((r) => r.backend));
  return [...table.filter((t) => !names.has(t.backend)), ...rows];
}
