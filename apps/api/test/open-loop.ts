/**
 * An open-loop load generator for the API: requests leave on a fixed schedule whatever the
 * replies do, so a server that falls behind shows as latency, not as a lower rate (a closed
 * loop, which waits for each reply, hides it: coordinated omission). Latency runs from each
 * request's scheduled time to the end of its reply body, so it includes any queueing, the
 * generator's own included. Used by the API load drill (drills/load.test.ts) and by
 * `npm run bench:service` (apps/cli/bench/service.ts).
 *
 * ```ts
 * const run = await atRate(20, 10, () => fetch(`${url}/healthz`));
 * console.log(percentile(run.latenciesMs, 99), run.errors);
 * ```
 */

export interface OpenLoopRun {
  /** Requests sent: ⌊ratePerS · seconds⌋. */
  sent: number;
  /** Milliseconds from each request's scheduled time to the end of its reply, in send order. */
  latenciesMs: number[];
  /** Replies by HTTP status; 0 counts requests that got no reply (connection errors). */
  statuses: Record<number, number>;
  /** Replies that were not 2xx, plus requests with no reply. */
  errors: number;
  /** The first few errors, `status method path: body`, for assertion messages. */
  errorSamples: string[];
}

const ERROR_SAMPLES = 5;
const ERROR_BODY_CHARS = 300;

/** Sends `send(i)` for i = 0, 1, … at `ratePerS` for `seconds`, open loop. Never throws for a reply. */
export async function atRate(
  ratePerS: number,
  seconds: number,
  send: (i: number) => Promise<Response>,
): Promise<OpenLoopRun> {
  if (!(ratePerS > 0) || !(seconds > 0))
    throw new RangeError(`atRate: ratePerS (${ratePerS}) and seconds (${seconds}) must be > 0`);
  const sent = Math.floor(ratePerS * seconds);
  const latenciesMs = new Array<number>(sent).fill(Number.NaN);
  const statuses: Record<number, number> = {};
  const errorSamples: string[] = [];
  let errors = 0;
  const failed = (line: string) => {
    errors += 1;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(line);
  };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < sent; i++) {
    const due = start + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      (async () => {
        let status = 0;
        try {
          const response = await send(i);
          status = response.status;
          const body = await response.text();
          if (!response.ok) failed(`${status} ${response.url}: ${body.slice(0, ERROR_BODY_CHARS)}`);
        } catch (error) {
          failed(`no reply to request ${i}: ${(error as Error).message}`);
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        latenciesMs[i] = performance.now() - due;
      })(),
    );
  }
  await Promise.all(pending);
  return { sent, latenciesMs, statuses, errors, errorSamples };
}

/** The p-th percentile (0–100) by the nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}
