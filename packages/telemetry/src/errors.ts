/**
 * Errors of the telemetry package, with stable codes. Every code is listed in
 * {@link TELEMETRY_ERROR_CODES} and documented in the README (a test holds them to it).
 */

export const TELEMETRY_ERROR_CODES = ['RDLAB_TELEMETRY_OPTIONS_INVALID'] as const;

export type TelemetryErrorCode = (typeof TELEMETRY_ERROR_CODES)[number];

/** Options of `createLogger` or `createMetrics` that are unknown or out of range. */
export class TelemetryOptionsError extends Error {
  readonly code = 'RDLAB_TELEMETRY_OPTIONS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryOptionsError';
  }
}

/** Throws {@link TelemetryOptionsError} naming any key of `options` not in `known`. */
export function rejectUnknownOptions(
  where: string,
  options: object,
  known: readonly string[],
): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new TelemetryOptionsError(
      `${where}: unknown option(s) ${unknown.join(', ')}; the options are ${known.join(', ')}`,
    );
  }
}
