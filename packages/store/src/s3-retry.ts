/**
 * How the S3 client retries one request: a bounded number of tries, exponential backoff with
 * "equal jitter" (half the step fixed, half random), `Retry-After` honoured up to the cap.
 * Retried: 5xx that the SDK calls transient (500, 502, 503, 504), throttling (429, SlowDown),
 * timeouts and connection resets. Not retried: 4xx, other 5xx.
 *
 * Equal jitter rather than the SDK's full jitter: tries still spread out, and the time a
 * request rides out is bounded below (`retriesWindowMs`), so a store outage shorter than that
 * costs nothing but time. Counters make retries visible (tests, logs).
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** The SDK's token-based retry interface (`RetryStrategyV2` of @smithy/types). */
type RetryStrategyV2 = Extract<
  NonNullable<S3ClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

export interface RetryPolicy {
  /** Tries per request, the first included. */
  maxAttempts: number;
  /** Delay step before retry n: `baseDelayMs · 2^(n-1)`, capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What the client has retried, by the SDK's error classes. */
export interface RetryCounts {
  /** Retries of any kind. */
  retries: number;
  /** 5xx answers retried. */
  serverErrors: number;
  /** 429 / SlowDown answers retried. */
  throttled: number;
  /** Timeouts and dropped connections retried. */
  transient: number;
  /** Requests given up after `maxAttempts` tries. */
  exhausted: number;
}

/** Backoff before retry `retry` (1-based), before jitter. */
export function backoffStepMs(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

/** The least time a request keeps retrying for (all jitter at its low end), sleeps only. */
export function retriesWindowMs(policy: RetryPolicy): number {
  let total = 0;
  for (let retry = 1; retry < policy.maxAttempts; retry++)
    total += backoffStepMs(policy, retry) / 2;
  return total;
}

class Token implements RetryToken {
  constructor(
    private readonly count: number,
    private readonly delayMs: number,
  ) {}
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return this.delayMs;
  }
}

export class StoreRetryStrategy implements RetryStrategyV2 {
  readonly counts: RetryCounts = {
    retries: 0,
    serverErrors: 0,
    throttled: 0,
    transient: 0,
    exhausted: 0,
  };

  /** `random` in [0, 1) draws the jitter; tests pass a seeded one. */
  constructor(
    readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return new Token(0, 0);
  }

  /** The token of the next try (the SDK sleeps its delay first), or throws to give up. */
  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const kind = info.errorType;
    const retryable = kind === 'TRANSIENT' || kind === 'THROTTLING';
    const retry = token.getRetryCount() + 1;
    if (!retryable) throw new Error(`not retried: ${kind}`);
    if (retry >= this.policy.maxAttempts) {
      this.counts.exhausted += 1;
      throw new Error(`gave up after ${this.policy.maxAttempts} tries`);
    }
    const step = backoffStepMs(this.policy, retry);
    let delayMs = step / 2 + this.random() * (step / 2);
    if (info.retryAfterHint instanceof Date)
      delayMs = Math.max(
        delayMs,
        Math.min(info.retryAfterHint.getTime() - Date.now(), this.policy.maxDelayMs),
      );
    this.counts.retries += 1;
    const status = (info.error as { $metadata?: { httpStatusCode?: number } } | undefined)
      ?.$metadata?.httpStatusCode;
    if (kind === 'THROTTLING') this.counts.throttled += 1;
    else if (status !== undefined && status >= 500) this.counts.serverErrors += 1;
    else this.counts.transient += 1;
    return new Token(retry, Math.round(delayMs));
  }

  recordSuccess(): void {}
}
