import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreOptionsError } from './errors.js';
import { S3_STORE_DEFAULTS, s3OptionsFromEnv, s3StoreOptions } from './s3-client.js';
import { backoffStepMs, retriesWindowMs, StoreRetryStrategy } from './s3-retry.js';

describe('S3 store options', () => {
  it('takes documented defaults, and each RDLAB_S3_* variable', () => {
    assert.deepEqual(s3OptionsFromEnv({}), S3_STORE_DEFAULTS);
    const options = s3OptionsFromEnv({
      RDLAB_S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-1',
      RDLAB_S3_MAX_ATTEMPTS: '9',
      RDLAB_S3_RETRY_BASE_MS: '100',
      RDLAB_S3_RETRY_MAX_MS: '5000',
      RDLAB_S3_CONNECT_TIMEOUT_MS: '700',
      RDLAB_S3_REQUEST_TIMEOUT_MS: '8000',
      RDLAB_S3_SOCKET_TIMEOUT_MS: '900',
      RDLAB_S3_READ_ATTEMPTS: '4',
    });
    assert.deepEqual(options, {
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      maxAttempts: 9,
      baseDelayMs: 100,
      maxDelayMs: 5000,
      connectTimeoutMs: 700,
      requestTimeoutMs: 8000,
      socketTimeoutMs: 900,
      readAttempts: 4,
    });
  });

  it('refuses a value out of range, naming the variable and what is allowed', () => {
    for (const [name, value] of [
      ['RDLAB_S3_MAX_ATTEMPTS', '0'],
      ['RDLAB_S3_SOCKET_TIMEOUT_MS', 'soon'],
      ['RDLAB_S3_READ_ATTEMPTS', '1.5'],
    ] as const) {
      assert.throws(
        () => s3OptionsFromEnv({ [name]: value }),
        (error: Error) =>
          error instanceof StoreOptionsError &&
          error.code === 'RDLAB_STORE_OPTIONS_INVALID' &&
          error.message.startsWith(`${name} must be an integer ≥`) &&
          error.message.includes(`'${value}'`),
      );
    }
    assert.throws(
      () => s3StoreOptions({ retries: 3 } as never),
      /retries must be one of endpoint, region, maxAttempts/,
    );
  });
});

describe('StoreRetryStrategy', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 300 };
  /** What the SDK's retry middleware passes: the error and its class. */
  type ErrorInfo = Parameters<StoreRetryStrategy['refreshRetryTokenForRetry']>[1];
  const serverError: ErrorInfo = {
    errorType: 'TRANSIENT',
    error: { name: 'ServiceUnavailable', message: '503', $metadata: { httpStatusCode: 503 } },
  };

  it('backs off exponentially up to the cap, with half of each step jittered', async () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffStepMs(policy, n)),
      [100, 200, 300, 300],
    );
    assert.equal(retriesWindowMs(policy), (100 + 200 + 300 + 300) / 2);
    for (const [draw, expected] of [
      [0, [50, 100, 150, 150]],
      [0.999, [100, 200, 300, 300]],
    ] as const) {
      const strategy = new StoreRetryStrategy(policy, () => draw);
      let token = await strategy.acquireInitialRetryToken();
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        token = await strategy.refreshRetryTokenForRetry(token, serverError);
        delays.push(token.getRetryDelay());
      }
      assert.deepEqual(delays, expected);
      await assert.rejects(
        strategy.refreshRetryTokenForRetry(token, serverError),
        /gave up after 5 tries/,
      );
      assert.deepEqual(strategy.counts, {
        retries: 4,
        serverErrors: 4,
        throttled: 0,
        transient: 0,
        exhausted: 1,
      });
    }
  });

  it('retries throttling and timeouts, not client errors; honours Retry-After up to the cap', async () => {
    const strategy = new StoreRetryStrategy(policy, () => 0);
    const first = await strategy.acquireInitialRetryToken();
    await assert.rejects(
      strategy.refreshRetryTokenForRetry(first, { errorType: 'CLIENT_ERROR' }),
      /not retried: CLIENT_ERROR/,
    );
    const later = new Date(Date.now() + 60_000);
    const throttled = await strategy.refreshRetryTokenForRetry(first, {
      errorType: 'THROTTLING',
      retryAfterHint: later,
    });
    assert.equal(throttled.getRetryDelay(), policy.maxDelayMs);
    await strategy.refreshRetryTokenForRetry(first, {
      errorType: 'TRANSIENT',
      error: { name: 'TimeoutError', message: 'socket timed out', $metadata: {} },
    });
    assert.deepEqual([strategy.counts.throttled, strategy.counts.transient], [1, 1]);
  });
});
