/**
 * Every error the API answers with, from one place: a stable code, its HTTP status, and the
 * `{"error": {"code", "message", "details"}}` body. Routes throw {@link apiError}; whatever else
 * reaches the error handler (Fastify's own errors, a spec that fails validation, Postgres or
 * Redis going away, plugin errors) is mapped by {@link toApiError}. The codes are documented in
 * README.md (a test checks it), like fastify's `docs/Reference/Errors.md`.
 */
import createError, { type FastifyError } from '@fastify/error';
import { SpecError } from '@rdlab/core';
import { isDatabaseUnavailable } from '@rdlab/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const API_ERROR_CODES = [
  'RDLAB_SPEC_INVALID',
  'RDLAB_BAD_REQUEST',
  'RDLAB_UNAUTHORIZED',
  'RDLAB_NOT_FOUND',
  'RDLAB_EXPERIMENT_FINISHED',
  'RDLAB_RESULTS_NOT_READY',
  'RDLAB_IDEMPOTENCY_CONFLICT',
  'RDLAB_BODY_TOO_LARGE',
  'RDLAB_UNSUPPORTED_MEDIA_TYPE',
  'RDLAB_RATE_LIMITED',
  'RDLAB_OVERLOADED',
  'RDLAB_UNAVAILABLE',
  'RDLAB_INTERNAL',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Thrown at start-up for bad options or environment; not an HTTP answer. */
export const API_CONFIG_ERROR_CODE = 'RDLAB_API_CONFIG_INVALID';

export class ApiConfigError extends Error {
  readonly code = API_CONFIG_ERROR_CODE;
  constructor(message: string) {
    super(message);
    this.name = 'ApiConfigError';
  }
}

/** Seconds a client should wait before retrying a 503 for Postgres or Redis being down. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** The HTTP status of each code: the one exhaustive domain-to-HTTP mapping. */
export function statusOf(code: ApiErrorCode): number {
  switch (code) {
    case 'RDLAB_SPEC_INVALID':
    case 'RDLAB_BAD_REQUEST':
      return 400;
    case 'RDLAB_UNAUTHORIZED':
      return 401;
    case 'RDLAB_NOT_FOUND':
      return 404;
    case 'RDLAB_EXPERIMENT_FINISHED':
    case 'RDLAB_RESULTS_NOT_READY':
      return 409;
    case 'RDLAB_BODY_TOO_LARGE':
      return 413;
    case 'RDLAB_UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'RDLAB_IDEMPOTENCY_CONFLICT':
      return 422;
    case 'RDLAB_RATE_LIMITED':
      return 429;
    case 'RDLAB_OVERLOADED':
    case 'RDLAB_UNAVAILABLE':
      return 503;
    case 'RDLAB_INTERNAL':
      return 500;
    default:
      return assertExhaustive(code);
  }
}

function assertExhaustive(value: never): never {
  throw new Error(`unhandled error code ${String(value)}`);
}

/** An error the API answers with: a {@link FastifyError} with our code and `details`. */
export interface ApiError extends FastifyError {
  code: ApiErrorCode;
  statusCode: number;
  details: Record<string, unknown>;
  /** Seconds for a Retry-After header (429, 503). */
  retryAfterS?: number;
}

/** `@fastify/error` factories, one per code (message: `%s`, filled in by {@link apiError}). */
export const apiErrors = Object.fromEntries(
  API_ERROR_CODES.map((code) => [code, createError(code, '%s', statusOf(code))]),
) as { [C in ApiErrorCode]: createError.FastifyErrorConstructor<{ code: C; statusCode: number }> };

export function apiError(
  code: ApiErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  options: { retryAfterS?: number } = {},
): ApiError {
  const error = new apiErrors[code](message) as ApiError;
  error.details = details;
  if (options.retryAfterS !== undefined) error.retryAfterS = options.retryAfterS;
  return error;
}

export function isApiError(error: unknown): error is ApiError {
  return (
    error instanceof Error &&
    (API_ERROR_CODES as readonly string[]).includes((error as { code?: string }).code ?? '') &&
    'details' in error
  );
}

export const notFound = (what: string) => apiError('RDLAB_NOT_FOUND', `${what} was not found`);

/** The JSON schema of an error reply (OpenAPI `ApiError`). */
export const errorSchema = {
  $id: 'ApiError',
  type: 'object',
  description: 'Every error reply',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', enum: [...API_ERROR_CODES] },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

/** `response` entries for route schemas: every 4xx/5xx is an {@link errorSchema}. */
export const errorResponses = {
  '4xx': { $ref: 'ApiError#' },
  '5xx': { $ref: 'ApiError#' },
} as const;

// What ioredis says when Redis is not there (Node's socket codes are in isDatabaseUnavailable).
const REDIS_UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_UNAVAILABLE_MESSAGE = /Stream isn't writeable|enableOfflineQueue|Connection is closed/;

/** Whether `error` (or one of its causes) says Postgres or Redis cannot be reached. */
export function isUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 6 || error === null || typeof error !== 'object') return false;
  if (isDatabaseUnavailable(error)) return true;
  const e = error as { name?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.name === 'string' && REDIS_UNAVAILABLE_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && REDIS_UNAVAILABLE_MESSAGE.test(e.message)) return true;
  if (error instanceof AggregateError && error.errors.some((x) => isUnavailable(x, depth + 1)))
    return true;
  return isUnavailable(e.cause, depth + 1);
}

/**
 * Maps anything thrown to an {@link ApiError}. Unknown errors become RDLAB_INTERNAL with a
 * generic message: no stack, no driver message (it could hold a URL with a password).
 */
export function toApiError(error: unknown): ApiError {
  if (isApiError(error)) return error;
  if (error instanceof SpecError) {
    return apiError('RDLAB_SPEC_INVALID', error.message, {
      problems: error.problems.map((p) => ({ ...p })),
    });
  }
  const e = (error ?? {}) as Partial<FastifyError> & { validationContext?: string };
  if (e.validation) {
    const first = e.validation[0];
    const context = e.validationContext ?? 'request';
    const params = (first?.params ?? {}) as {
      missingProperty?: string;
      additionalProperty?: string;
    };
    const field =
      params.missingProperty ??
      params.additionalProperty ??
      first?.instancePath.replace(/^\//, '').replaceAll('/', '.') ??
      '';
    const where = field ? `${context} field '${field}'` : context;
    return apiError('RDLAB_BAD_REQUEST', `${where}: ${first?.message ?? 'is invalid'}`, {
      location: context,
      field: field || null,
      problems: e.validation.map((v) => ({
        path: v.instancePath,
        message: v.message ?? 'is invalid',
      })),
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError('RDLAB_BODY_TOO_LARGE', 'the request body is larger than this API accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError(
        'RDLAB_UNSUPPORTED_MEDIA_TYPE',
        'unsupported content-type: send application/json or application/yaml',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError('RDLAB_BAD_REQUEST', e.message ?? 'malformed request body');
  }
  if (isUnavailable(error)) {
    return apiError(
      'RDLAB_UNAVAILABLE',
      'a backing service (Postgres or Redis) is unavailable: retry shortly',
      {},
      { retryAfterS: UNAVAILABLE_RETRY_AFTER_S },
    );
  }
  // Fastify's other client errors (a bad header, …) keep their status as a bad request.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return apiError('RDLAB_BAD_REQUEST', e.message ?? 'bad request');
  }
  return apiError('RDLAB_INTERNAL', 'internal error: the server logged the details');
}

/** Writes an {@link ApiError} as the reply. */
export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
  return reply
    .code(error.statusCode)
    .type('application/json; charset=utf-8')
    .send({ error: { code: error.code, message: error.message, details: error.details } });
}

/** The one error handler and not-found handler of the app. */
export function installErrorHandling(app: FastifyInstance): void {
  app.addSchema(errorSchema);
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const apiErr = toApiError(error);
    if (apiErr.statusCode >= 500) {
      request.log.error({ err: error }, `request failed: ${apiErr.code}`);
    } else {
      request.log.info({ code: apiErr.code }, apiErr.message);
    }
    return sendApiError(reply, apiErr);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(
      reply,
      apiError('RDLAB_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
