/**
 * The table of measured throughputs `planSweep` estimates from (`throughputs.json`): per backend,
 * the FLOP/s achieved on a training step and in KV-cached sampling, each with the date, machine
 * and command it came from. Refresh the measured rows with `bench/throughputs.ts` (README,
 * "Refreshing the throughput table").
 *
 * ```ts
 * import { THROUGHPUTS } from '@rdlab/pipeline';
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
