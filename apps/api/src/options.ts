/** The API's tunables: defaults merged in one place, unknown or bad values rejected at start. */
import { z } from 'zod';
import { ApiConfigError } from './errors.js';
import { DEFAULT_WEB_ROOT } from './web.js';

export interface ApiOptions {
  /**
   * Largest request body, in bytes; larger ones answer 413 RDLAB_BODY_TOO_LARGE.
   * @defaultValue 1048576 (1 MiB)
   */
  bodyLimitBytes: number;
  /**
   * Requests per token (per `Authorization` header) in each window, on /v1 routes.
   * @defaultValue { max: 600, timeWindowMs: 60000 }
   */
  rateLimit: { max: number; timeWindowMs: number };
  /**
   * Mean event-loop delay, in milliseconds, above which /v1 routes answer 503 RDLAB_OVERLOADED;
   * 0 turns the check off.
   * @defaultValue 1000
   */
  maxEventLoopDelayMs: number;
  /**
   * How often `GET /v1/experiments/:id/events` looks at the experiment's progress.
   * @defaultValue 1000
   */
  sseIntervalMs: number;
  /**
   * The built web dashboard (`index.html`, `app.js`, `app.css`), served under `/` when its
   * index.html exists; otherwise `/` says how to build it.
   * @defaultValue apps/web/dist of this repository, resolved from the api package
   */
  webRoot: string;
}

export type ApiOptionsInput = Partial<Omit<ApiOptions, 'rateLimit'>> & {
  rateLimit?: Partial<ApiOptions['rateLimit']>;
};

const positiveInt = () => z.number().int().positive();

const optionsSchema = z
  .object({
    bodyLimitBytes: positiveInt().default(1024 * 1024),
    rateLimit: z
      .object({
        max: positiveInt().default(600),
        timeWindowMs: positiveInt().default(60_000),
      })
      .strict()
      .default({ max: 600, timeWindowMs: 60_000 }),
    maxEventLoopDelayMs: z.number().int().min(0).default(1000),
    sseIntervalMs: positiveInt().default(1000),
    webRoot: z.string().min(1).default(DEFAULT_WEB_ROOT),
  })
  .strict();

/** Fills in defaults; throws RDLAB_API_CONFIG_INVALID naming the offending option. */
export function resolveOptions(input: ApiOptionsInput = {}): ApiOptions {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`,
    );
    throw new ApiConfigError(`buildApi options are invalid: ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}
