/**
 * The pino logger of every rdlab process, with secrets censored before a line is written.
 *
 * Two layers, because neither alone sees everything:
 * 1. a deep pass over each log object and child bindings (plain objects and arrays, and
 *    serialized errors) that censors fields by name: `authorization`, `cookie`, `password`,
 *    `secretAccessKey`, anything with `secret` or `password` in its name, and anything with
 *    `token` in its name (except `tokeniz…`) unless the value is a number or a list of numbers
 *    (token counts and token ids are not secrets);
 * 2. pino's path redaction for what serializers add later (`req.headers.authorization`, …).
 *
 * A secret inside a message string cannot be found: log it as a field, or not at all.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import { rejectUnknownOptions, TelemetryOptionsError } from './errors.js';

export type { Logger } from 'pino';

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** The process or component (`rdlab-api`, `rdlab-worker`), written as `name` on each line. */
  name: string;
  /**
   * The lowest level written.
   * @defaultValue 'info'
   */
  level?: LevelWithSilent;
  /**
   * Where JSON lines go.
   * @defaultValue stdout
   */
  destination?: DestinationStream;
}

const LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

/** Field names censored whatever their value (compared lowercased). */
const SECRET_NAMES = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'apikey',
  'api_key',
  'secretaccesskey',
  'privatekey',
  'credentials',
]);

/** Paths censored after serializers ran (pino `redact`). */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

const MAX_DEPTH = 12;

/** Creates the logger. Throws `RDLAB_TELEMETRY_OPTIONS_INVALID` for unknown options or levels. */
export function createLogger(options: LoggerOptions): Logger {
  rejectUnknownOptions('createLogger', options, ['name', 'level', 'destination']);
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new TelemetryOptionsError('createLogger: name must be a non-empty string');
  }
  const level = options.level ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new TelemetryOptionsError(
      `createLogger: level '${level}' is not one of ${LEVELS.join(', ')}`,
    );
  }
  const logger = pino(
    {
      name: options.name,
      level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: {
        log: (object) => censor(object, 0) as Record<string, unknown>,
        bindings: (bindings) => censor(bindings, 0) as Record<string, unknown>,
      },
      serializers: {
        // The serialized error is not a plain object, so its fields are censored explicitly.
        err: (error: Error) => censorFields(pino.stdSerializers.err(error), 0),
      },
    },
    options.destination, // undefined: pino's default, stdout
  );
  // pino applies `formatters.bindings` to the root's bindings only, not to `child()`'s: censor
  // those here. Children inherit this `child` through their prototype, so grandchildren too.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, censorFields(bindings, 0), childOptions);
  } as typeof child;
  return logger;
}

/** Whether a field of this name and value must not be written. */
export function isSecretField(name: string, value: unknown): boolean {
  const key = name.toLowerCase();
  if (SECRET_NAMES.has(key) || key.includes('password') || key.includes('secret')) return true;
  if (!/token(?!iz)/.test(key)) return false;
  const numeric = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';
  return !(numeric(value) || (Array.isArray(value) && value.every(numeric)));
}

/**
 * A copy of `value` with secret fields censored; the caller's objects are never changed.
 * Walks plain objects and arrays only (class instances are left to their serializers).
 */
function censor(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = censor(item, depth + 1);
      if (next !== item) {
        copy ??= [...value];
        copy[i] = next;
      }
    });
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return censorFields(value, depth);
}

/** {@link censor} for an object known to be a record of fields, whatever its prototype. */
function censorFields<T extends object>(value: T, depth: number): T {
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = isSecretField(key, item) ? REDACTED : censor(item, depth + 1);
    if (next !== item) {
      copy ??= { ...value } as Record<string, unknown>;
      copy[key] = next;
    }
  }
  return (copy as T | undefined) ?? value;
}
